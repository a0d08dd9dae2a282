#!/usr/bin/env bash
# vmbackup copy to and from a repository served over a real ssh link:
# local -> ssh under another key (a dry run first; re-encrypted; verify
# and restore over ssh), ssh -> local sharing the key (init --key-from over ssh; chunk
# files byte-identical), a second copy sends nothing, gc on the server
# keeps everything.  With an append-only key (RESERVE_COPY is checked
# like any commit) a copy into the repository works, a backup older than
# one of its name there is refused, and nothing of it is left visible.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
cd "$scratch"
start_sshd
authorize_key
mkdir -p "$scratch/srv"
url=ssh://root@127.0.0.1:$ssh_port$scratch/srv/remote

vmb init --chunk-size 256K >/dev/null
truncate -s 3M a.img
put_random a.img 0 2
printf tail >> a.img
mkdir -p tree
head -c 400000 /dev/urandom > tree/f
vmb backup --image a=a.img >/dev/null
vmb files backup --name t tree >/dev/null
ids=$(vmb list | awk 'NR>1 {print $1}' | sort)

# --- local -> ssh, another key ---
VMBACKUP_KEY_FILE=remote.key vmb --repo "$url" init --chunk-size 256K >/dev/null
vmb copy --to "$url" --all --dry-run --to-key-file remote.key > dry.out \
  || fail "dry run to ssh: $(cat dry.out)"
grep -qE "^would copy a/[0-9T]+Z: 9 chunks \(2\.0 MiB\) missing in the target, 0 there$" dry.out \
  || fail "dry run to ssh: $(cat dry.out)"
[ -z "$(VMBACKUP_KEY_FILE=remote.key vmb --repo "$url" list)" ] || fail "dry run over ssh copied"
[ -z "$(find srv/remote/chunks -type f)" ] || fail "dry run over ssh stored chunks"
vmb copy --to "$url" --all --to-key-file remote.key > up.out \
  || fail "copy to ssh: $(cat up.out)"
grep -qE "^copied a/[0-9T]+Z: 9 chunks sent \(2\.0 MiB\), 0 already there$" up.out \
  || fail "copy to ssh: $(cat up.out)"
rk=VMBACKUP_KEY_FILE=remote.key
[ "$(env $rk "$VMBACKUP" --repo "$url" list | awk 'NR>1 {print $1}' | sort)" = "$ids" ] \
  || fail "IDs over ssh differ"
env $rk "$VMBACKUP" --repo "$url" verify | tail -1 | grep -q "verified 2 backups, .*: 0 problems" \
  || fail "verify over ssh"
env $rk "$VMBACKUP" --repo "$url" restore a --to up.img >/dev/null
cmp a.img up.img || fail "restore over ssh differs"
env $rk "$VMBACKUP" --repo "$url" files restore t --to up.tree >/dev/null
cmp tree/f "up.tree$scratch/tree/f" || fail "file restore over ssh differs"
vmb copy --to "$url" --all --to-key-file remote.key | tail -1 \
  | grep -q "^copied 0 backups, skipped 2, failed 0: 0 chunks sent (0 B)$" \
  || fail "second copy to ssh sent something"
env $rk "$VMBACKUP" --repo "$url" gc | grep -q "deleted 0 chunks, 0 indexes" \
  || fail "gc on the server deleted something"

# --- ssh -> local, sharing the remote key ---
VMBACKUP_FROM_KEY_FILE=remote.key VMBACKUP_KEY_FILE=down.key \
  vmb --repo down init --key-from "$url" | grep -q "master key shared" \
  || fail "init --key-from over ssh"
VMBACKUP_FROM_KEY_FILE=remote.key VMBACKUP_TO_KEY_FILE=down.key \
  vmb copy --from "$url" --to down --all > down.out || fail "copy from ssh: $(cat down.out)"
for f in $(cd down/chunks && find . -type f); do
  cmp "srv/remote/chunks/$f" "down/chunks/$f" || fail "chunk $f differs"
done
VMBACKUP_KEY_FILE=down.key vmb --repo down verify | tail -1 \
  | grep -q "verified 2 backups, .*: 0 problems" || fail "verify down"
VMBACKUP_KEY_FILE=down.key vmb --repo down restore a --to down.img >/dev/null
cmp a.img down.img || fail "restore of the copy from ssh differs"

# --- an append-only key ---
mkdir -p ao
authorize_key "command=\"$VMBACKUP serve --append-only --restrict-to-path $scratch/ao\",restrict"
ao=ssh://root@127.0.0.1:$ssh_port$scratch/ao/repo
VMBACKUP_KEY_FILE=ao.key vmb --repo "$ao" init --chunk-size 256K >/dev/null
old_a=$(vmb list a | awk 'NR==2 {print $1}')
put_random a.img 1 1
vmb backup --image a=a.img >/dev/null
new_a=$(last_id a)
vmb copy --to "$ao" --to-key-file ao.key "$new_a" > ao.out \
  || fail "append-only copy: $(cat ao.out)"
grep -q "^copied $new_a: " ao.out || fail "append-only copy: $(cat ao.out)"
expect_fail 1 "copy $old_a: .*older than backup $new_a" \
  vmb copy --to "$ao" --to-key-file ao.key "$old_a"
[ "$(VMBACKUP_KEY_FILE=ao.key vmb --repo "$ao" list | awk 'NR>1 {print $1}')" = "$new_a" ] \
  || fail "append-only repository lists: $(VMBACKUP_KEY_FILE=ao.key vmb --repo "$ao" list)"
VMBACKUP_KEY_FILE=ao.key vmb --repo "$ao" restore "$new_a" --to ao.img >/dev/null
cmp a.img ao.img || fail "restore from the append-only copy differs"
echo OK
