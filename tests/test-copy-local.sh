#!/usr/bin/env bash
# vmbackup copy between local repositories: into one with another key
# (chunks re-encrypted), one sharing the key (init --key-from: chunk files
# and indexes byte-identical), from one in the clear into an encrypted
# one and back.  Copied backups keep their IDs, verify, and restore
# byte-identical in the target; a second copy sends nothing; a new
# backup sends only its changed chunk; --dry-run counts without writing;
# gc in the target keeps everything; events 4100-4104 are logged.
source "$(dirname "$0")/functions.sh"
requires python3
cd "$scratch"
src=$scratch/repo # $VMBACKUP_REPO, key $VMBACKUP_KEY_FILE

vmb init --chunk-size 1M >/dev/null
# 9 MiB with a partial last chunk and a hole; a tree for a file backup.
truncate -s 9M a.img
put_random a.img 0 3
put_random a.img 5 2
printf tail >> a.img
mkdir -p tree/sub
head -c 700000 /dev/urandom > tree/big
echo hello > tree/sub/small
ln -s big tree/link
vmb backup --image a=a.img >/dev/null
vmb files backup --name t tree >/dev/null
cp a.img a0.img
img=a0.img # what backup a of $ids holds
ids=$(vmb list | awk 'NR>1 {print $1}' | sort)
[ "$(echo "$ids" | wc -l)" = 2 ] || fail "source backups: $ids"

# check_target REPO KEYVAR...: the same IDs, verify clean, restores
# identical.
check_target ()
{
  local repo=$1 out=$scratch/check.$RANDOM
  shift
  [ "$(env "$@" "$VMBACKUP" --repo "$repo" list | awk 'NR>1 {print $1}' | sort)" = "$ids" ] \
    || fail "$repo lists: $(env "$@" "$VMBACKUP" --repo "$repo" list)"
  env "$@" "$VMBACKUP" --repo "$repo" verify | tail -1 \
    | grep -q "verified 2 backups, .*: 0 problems" || fail "$repo does not verify"
  env "$@" "$VMBACKUP" --repo "$repo" restore a --to "$out.img" >/dev/null \
    || fail "restore a from $repo"
  cmp "$img" "$out.img" || fail "a restored from $repo differs"
  env "$@" "$VMBACKUP" --repo "$repo" files restore t --to "$out.tree" >/dev/null \
    || fail "restore t from $repo"
  diff -r tree "$out.tree$scratch/tree" || fail "t restored from $repo differs"
  [ "$(readlink "$out.tree$scratch/tree/link")" = big ] || fail "symlink"
}

# --- another key: every chunk re-encrypted ---
VMBACKUP_KEY_FILE=other.key vmb --repo other init --chunk-size 1M >/dev/null
vmb copy --to other --all --dry-run --to-key-file other.key > dry.out
grep -qE "^would copy a/[0-9T]+Z: 6 chunks \(5\.0 MiB\) missing in the target, 0 there$" dry.out \
  || fail "dry run: $(cat dry.out)"
[ "$(VMBACKUP_KEY_FILE=other.key vmb --repo other list | wc -l)" = 0 ] \
  || fail "dry run wrote a backup"
[ -z "$(find other/chunks -type f)" ] || fail "dry run wrote chunks"

vmb copy --to other --all --to-key-file other.key > copy.out
grep -qE "^copied a/[0-9T]+Z: 6 chunks sent \(5\.0 MiB\), 0 already there$" copy.out \
  || fail "copy: $(cat copy.out)"
grep -qE "^copied 2 backups, skipped 0, failed 0: [0-9]+ chunks sent" copy.out \
  || fail "copy summary: $(cat copy.out)"
check_target other VMBACKUP_KEY_FILE=other.key
# Re-encrypted: no chunk of the source is stored under its name there.
for f in $(cd "$src/chunks" && find . -type f); do
  [ ! -e "other/chunks/$f" ] || fail "chunk $f kept its name under another key"
done
# The source's key does not open the copy.
expect_fail 1 "wrong key file" vmb --repo other list

vmb copy --to other --all --to-key-file other.key > again.out
grep -q "^copied 0 backups, skipped 2, failed 0: 0 chunks sent (0 B)$" again.out \
  || fail "second copy: $(cat again.out)"
grep -qE "^skipped a/[0-9T]+Z: already in other$" again.out || fail "skip line"

# A new backup that changes one chunk sends that chunk only.
put_random a.img 7 1
vmb backup --image a=a.img >/dev/null
new=$(last_id a)
# (The same ID twice is copied once.)
VMBACKUP_TO_KEY_FILE=other.key vmb copy --to other "$new" "$new" > incr.out
grep -q "^copied $new: 1 chunks sent (1.0 MiB), 6 already there$" incr.out \
  || fail "incremental copy: $(cat incr.out)"
grep -q "^copied 1 backup, skipped 1, failed 0: 1 chunks sent" incr.out \
  || fail "an ID given twice: $(cat incr.out)"
VMBACKUP_KEY_FILE=other.key vmb --repo other restore "$new" --to new.img >/dev/null
cmp a.img new.img || fail "new backup restored from other differs"

# gc in the target keeps everything the copies reference.
VMBACKUP_KEY_FILE=other.key vmb --repo other gc > gc.out
grep -q "deleted 0 chunks, 0 indexes" gc.out || fail "gc in target: $(cat gc.out)"
VMBACKUP_KEY_FILE=other.key vmb --repo other verify | tail -1 \
  | grep -q "verified 3 backups, .*: 0 problems" || fail "verify after gc"
# --- the same key: chunks as stored ---
VMBACKUP_FROM_KEY_FILE=$VMBACKUP_KEY_FILE VMBACKUP_KEY_FILE=same.key \
  vmb --repo same init --key-from "$src" > init.out
grep -q "master key shared with $src" init.out || fail "init --key-from: $(cat init.out)"
grep -q "chunk size 1.0 MiB" init.out || fail "init --key-from chunk size: $(cat init.out)"
VMBACKUP_TO_KEY_FILE=same.key vmb copy --to same --name t > same.out
grep -qE "^copied t/[0-9T]+Z: [0-9]+ chunks sent" same.out || fail "copy t: $(cat same.out)"
old_a=$(vmb list a | awk 'NR==2 {print $1}')
VMBACKUP_TO_KEY_FILE=same.key vmb copy --to same "$old_a" >/dev/null
check_target same VMBACKUP_KEY_FILE=same.key
n=0
for f in $(cd same/chunks && find . -type f); do
  cmp "$src/chunks/$f" "same/chunks/$f" || fail "chunk $f differs with the same key"
  n=$((n + 1))
done
[ "$n" -gt 6 ] || fail "only $n chunks in same"
for f in $(cd same/indexes && ls); do
  cmp "$src/indexes/$f" "same/indexes/$f" || fail "index $f differs"
done
VMBACKUP_KEY_FILE=same.key vmb --repo same gc | grep -q "deleted 0 chunks" \
  || fail "gc in same deleted something"

# --- in the clear, into an encrypted repository and out again ---
(
  in_the_clear
  vmb --repo clear init --encryption none --chunk-size 1M >/dev/null
  vmb --repo clear backup --image a=a.img >/dev/null
  vmb --repo clear files backup --name t tree >/dev/null
)
img=a.img
ids=$(in_the_clear; vmb --repo clear list | awk 'NR>1 {print $1}' | sort)
VMBACKUP_KEY_FILE=enc.key vmb --repo enc init --chunk-size 1M >/dev/null
# The usual key (VMBACKUP_KEY_FILE) is for the target: the clear source
# takes none.
VMBACKUP_KEY_FILE=enc.key vmb copy --from clear --to enc --all > clear.out \
  || fail "clear -> encrypted: $(cat clear.out)"
check_target enc VMBACKUP_KEY_FILE=enc.key
grep -rqa "VMBCHNK1" enc/chunks || fail "no chunks in enc"
# and out into the clear again
(in_the_clear; vmb --repo clear2 init --encryption none --chunk-size 1M >/dev/null)
VMBACKUP_FROM_KEY_FILE=enc.key vmb copy --from enc --to clear2 --all >/dev/null \
  || fail "encrypted -> clear"
(in_the_clear; check_target clear2)

# Events: start, copied, skipped, finished.
for id in 4100 4101 4102 4104; do
  grep -q "\"id\": $id," "$VMBACKUP_EVENT_LOG" || fail "no event $id"
done
echo OK
