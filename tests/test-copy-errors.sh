#!/usr/bin/env bash
# vmbackup copy refuses what it cannot do with one clear line and a
# non-zero exit, and leaves the target as it was: an unknown backup ID,
# the same repository on both sides, a wrong key for either side, a
# target that is not a repository or cannot be reached, different chunk
# sizes, a key given for a target in the clear, and usage mistakes.
source "$(dirname "$0")/functions.sh"
cd "$scratch"

vmb init --chunk-size 1M >/dev/null
truncate -s 2M a.img
put_random a.img 0 1
vmb backup --image a=a.img >/dev/null
id=$(last_id a)
VMBACKUP_KEY_FILE=t.key vmb --repo target init --chunk-size 1M >/dev/null
VMBACKUP_KEY_FILE=x.key vmb --repo unrelated init --chunk-size 1M >/dev/null

# one_line: the error was exactly one line
one_line ()
{
  [ "$(wc -l < "$scratch/err")" = 1 ] || fail "more than one line: $(cat "$scratch/err")"
}
target_empty ()
{
  [ -z "$(VMBACKUP_KEY_FILE=t.key vmb --repo target list)" ] \
    || fail "target changed: $(VMBACKUP_KEY_FILE=t.key vmb --repo target list)"
  [ -z "$(find target/chunks -type f)" ] || fail "chunks left in the target"
}

expect_fail 1 "^vmbackup: copy a/20200101T000000Z: no backup a/20200101T000000Z in $scratch/repo" \
  vmb copy --to target --to-key-file t.key a/20200101T000000Z
one_line
expect_fail 1 "^vmbackup: copy nosuch: no backup named nosuch" \
  vmb copy --to target --to-key-file t.key nosuch
one_line
target_empty

expect_fail 1 "are the same repository \(ID [0-9a-f]{32}\): nothing to copy" \
  vmb copy --to "$scratch/repo" "$id"
one_line

# Wrong keys: the target's opened with the source's key, the source's
# with another.
expect_fail 1 "wrong key file: no key slot of target opens with it" \
  vmb copy --to target "$id"
one_line
expect_fail 1 "wrong key file: no key slot of $scratch/repo opens with it" \
  vmb copy --to target --to-key-file t.key --from-key-file x.key "$id"
one_line
expect_fail 1 "wrong key file: no key slot of target opens with it" \
  env VMBACKUP_TO_KEY_FILE=x.key "$VMBACKUP" copy --to target "$id"
one_line
target_empty

# Targets that are not there.
expect_fail 1 "nowhere: not a vmbackup repository" \
  vmb copy --to nowhere --to-key-file t.key "$id"
one_line
[ ! -e nowhere ] || fail "copy created a target"
if command -v ssh >/dev/null; then
  # Nothing listens on port 1: the link fails at once.
  expect_fail 1 "^vmbackup: .*(ssh|connection|Connection)" \
    env VMBACKUP_RSH="ssh -o BatchMode=yes -o ConnectTimeout=5" \
    "$VMBACKUP" copy --to ssh://root@127.0.0.1:1/nowhere --to-key-file t.key "$id"
fi

# Chunk sizes must agree.
VMBACKUP_KEY_FILE=small.key vmb --repo small init --chunk-size 64K >/dev/null
expect_fail 1 "chunk sizes differ \($scratch/repo: 1048576, small: 65536\)" \
  vmb copy --to small --to-key-file small.key "$id"
one_line

# A target in the clear with a key given for it is refused (whoever
# could rewrite its config must not get plaintext by it).
(in_the_clear; vmb --repo clear init --encryption none --chunk-size 1M >/dev/null)
expect_fail 1 "repository clear is not encrypted; no key is needed" \
  vmb copy --to clear --to-key-file t.key "$id"
one_line
[ -z "$(in_the_clear; vmb --repo clear list)" ] || fail "clear target changed"

# Usage.
expect_fail 2 "give the target with --to REPO" vmb copy "$id"
expect_fail 2 "give backup IDs, --name NAME or --all" vmb copy --to target
expect_fail 2 "give backup IDs, --name NAME or --all" vmb copy --to target --all "$id"
target_empty
echo OK
