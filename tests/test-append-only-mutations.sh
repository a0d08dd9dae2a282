#!/usr/bin/env bash
# Random mutations of valid manifests and indexes, committed through an
# append-only key (tests/append-only-mutations.py), cannot change what
# the admin's own verify, prune, gc and restore do to the backups that
# were there before:
#   - each earlier backup verifies and restores byte-identical, before
#     and after a real gc;
#   - 'list', 'prune --dry-run' and 'restore NAME' of the earlier names
#     answer as before;
#   - gc runs (no forged backup can make it refuse), nothing goes to
#     quarantine/;
#   - every mutation the server accepted is a sound backup: it
#     verifies, and its disk restores.
# Bounded: MUTATIONS (default 1000) commits or 90 seconds, seed SEED
# (printed; set it to replay a failure).
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
in_the_clear  # it mutates manifests and indexes in the clear
requires_root "sshd"
requires python3
here=$(cd "$(dirname "$0")" && pwd)
cd "$scratch"
start_sshd
seed=${SEED:-$RANDOM}
echo "seed $seed"
repo=$scratch/repo
vmb init --encryption none --chunk-size 64K >/dev/null
authorize_key "command=\"$VMBACKUP serve --append-only --restrict-to-path $repo\",restrict"

# The victims: two image backups and two files backups.
truncate -s 1M disk.raw
put_random disk.raw 0 1
vmb backup --image disk1=disk.raw >/dev/null
cp disk.raw disk-1.raw
put_random disk.raw 0 1
vmb backup --image disk1=disk.raw >/dev/null
cp disk.raw disk-2.raw
mkdir -p src
head -c 200K /dev/urandom > src/random
seq 30000 > src/numbers
vmb files backup --name fs src >/dev/null
cp -a src src-1
echo more >> src/numbers
vmb files backup --name fs src >/dev/null
cp -a src src-2
mapfile -t victims < <(vmb list | awk 'NR > 1 {print $1}')
[ ${#victims[@]} = 4 ] || fail "victims: ${victims[*]}"

# What the admin sees of them now.
observe ()
{
  local id
  vmb list | grep -E '^(disk1|fs)/'
  for id in "${victims[@]}"; do vmb verify "$id" | sed 's/ in [0-9.]* s//'; done
  vmb prune disk1 --keep-last 1 --dry-run
  vmb prune fs --keep-last 1 --dry-run
}
# Every victim restores byte-identical (into DIR).
check_restores ()
{
  local d=$1
  mkdir "$d"
  vmb restore "${victims[0]}" --to "$d/1.raw" >/dev/null
  vmb restore "${victims[1]}" --to "$d/2.raw" >/dev/null
  vmb restore disk1 --to "$d/latest.raw" >/dev/null
  cmp disk-1.raw "$d/1.raw" && cmp disk-2.raw "$d/2.raw" &&
    cmp disk-2.raw "$d/latest.raw" || fail "an image victim restores wrong"
  vmb files restore "${victims[2]}" --to "$d/f1" >/dev/null
  vmb files restore fs --to "$d/f2" >/dev/null
  diff -r src-1 "$d/f1$scratch/src" && diff -r src-2 "$d/f2$scratch/src" ||
    fail "a files victim restores wrong"
}
observe > before.txt
check_restores restored-before

start=$SECONDS
HERE=$here SSH_PORT=$ssh_port python3 "$here/append-only-mutations.py" \
  "$repo" "$seed" "${MUTATIONS:-1000}" 90 "${victims[@]}" > mutations.out ||
  fail "mutation client: $(tail -5 mutations.out)"
grep -v "^accepted" mutations.out
echo "in $((SECONDS - start)) s"

observe > after.txt || true
diff before.txt after.txt || fail "the victims look different after the mutations (seed $seed)"
check_restores restored-after
# Every accepted mutation is a sound backup: it verifies, and its disk
# (if it has one) restores.
rc=0; vmb verify > verify-all.out 2>&1 || rc=$?
[ $rc = 0 ] || fail "verify after the mutations (seed $seed): $(grep -v '^OK' verify-all.out | head -5)"
n=0
while read -r _ id; do
  if vmb list --json | python3 -c '
import json, sys
b = [x for x in json.load(sys.stdin) if x["id"] == sys.argv[1]]
sys.exit(0 if b and b[0].get("kind") == "image" else 1)' "$id"; then
    vmb restore "$id" --to "forged-$n.raw" >/dev/null 2>err.out ||
      fail "accepted backup $id does not restore: $(cat err.out) (seed $seed)"
    n=$((n + 1))
  fi
done < <(grep '^accepted ' mutations.out)
[ ! -e "$repo/quarantine" ] || fail "something was quarantined (seed $seed)"

vmb gc > gc.out 2>&1 || fail "gc refused after the mutations: $(cat gc.out) (seed $seed)"
observe > after-gc.txt || true
diff before.txt after-gc.txt || fail "the victims look different after gc (seed $seed)"
check_restores restored-after-gc
[ -z "$(ls -A "$repo/tmp")" ] || fail "files left in tmp/ after gc"
echo OK
