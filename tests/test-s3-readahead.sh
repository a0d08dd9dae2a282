#!/usr/bin/env bash
# A disk restore and an NBD export from S3 fetch chunks ahead of the
# readers (src/backend/s3/s3_prefetch.h), and what was fetched ahead is
# what they get: a restore is byte-identical also where the same chunk
# comes twice within the window and around holes; a chunk missing, or
# damaged, in the middle of the window fails the restore with one line
# that names it and its offset, as a restore without read-ahead would;
# the next restore (the chunk back) is whole; an export read in one
# sequential stream (each read waits for the one before, as a guest's
# would) is identical.
tests=$(cd "$(dirname "$0")" && pwd)
source "$tests/functions.sh"
source "$tests/functions-ceph.sh"
source "$tests/functions-export.sh"
requires nbdcopy
requires python3
start_ceph_repo s3://vmb/ahead
# In the clear, so the test can find the chunk of each offset.
in_the_clear
vmb init --encryption none --chunk-size 256K > /dev/null || fail "init"

# 32 MiB of 256 KiB chunks: random, MiB 4 again at MiB 5 and 6 (the same
# chunks named twice within the restore's window), a hole at MiB 20-23.
head -c 32M /dev/urandom > disk.img
for at in 5 6; do
  dd if=disk.img of=disk.img bs=1M skip=4 seek=$at count=1 conv=notrunc status=none
done
dd if=/dev/zero of=disk.img bs=1M seek=20 count=3 conv=notrunc status=none
vmb backup --image d="$scratch/disk.img" > /dev/null || fail "backup"

vmb restore d --to r1.img > /dev/null || fail "restore"
cmp disk.img r1.img || fail "restore differs from the image"

# The object of the chunk at MiB $1 (index header 64 bytes, then 32
# bytes a chunk).
"$S3CHECK" "$VMBACKUP_REPO" list indexes/ > idx.list || fail "list indexes"
[ "$(wc -l < idx.list)" = 1 ] || fail "indexes: $(cat idx.list)"
"$S3CHECK" "$VMBACKUP_REPO" get "$(cut -d' ' -f1 idx.list)" > disk.idx || fail "get index"
chunk_key ()
{
  python3 - disk.idx "$1" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
i = int(sys.argv[2]) * 4
d = data[64 + 32 * i: 64 + 32 * (i + 1)].hex()
print(f"chunks/{d[:2]}/{d}")
PY
}
key=$(chunk_key 10)
hex=${key##*/}
"$S3CHECK" "$VMBACKUP_REPO" get "$key" > saved.chunk || fail "get $key"

# restore_fails WHAT: the restore fails with one line naming the chunk
# (as a directory repository names it, missing or damaged alike) and
# MiB 10's offset.
restore_fails ()
{
  local rc=0
  rm -f r2.img
  vmb restore d --to r2.img > r2.out 2>&1 || rc=$?
  [ $rc != 0 ] || fail "restore with the chunk $1 succeeded"
  [ "$(wc -l < r2.out)" = 1 ] || fail "restore with the chunk $1, not one line: $(cat r2.out)"
  grep -q "offset 10485760: chunk $hex: " r2.out ||
    fail "restore with the chunk $1 does not name it: $(cat r2.out)"
  [ ! -e r2.img ] || fail "restore with the chunk $1 left r2.img"
}
"$S3CHECK" "$VMBACKUP_REPO" delete "$key" || fail "delete $key"
restore_fails missing
grep -q "missing" r2.out || fail "missing chunk: $(cat r2.out)"
head -c 1000 /dev/urandom > junk
"$S3CHECK" "$VMBACKUP_REPO" put "$key" junk || fail "damage $key"
restore_fails damaged
grep -q "missing" r2.out && fail "damaged chunk called missing: $(cat r2.out)"
"$S3CHECK" "$VMBACKUP_REPO" put "$key" saved.chunk || fail "put $key back"
vmb restore d --to r3.img > /dev/null || fail "restore with the chunk back"
cmp disk.img r3.img || fail "restore with the chunk back differs"

# One sequential stream through an export.
start_export exp.out d --socket "$scratch/d.sock"
nbdcopy --connections=1 --requests=1 "$(nbd_sock "$scratch/d.sock")" copy.img ||
  fail "nbdcopy from the export"
stop_export
cmp disk.img copy.img || fail "the export read in one stream differs"
echo OK
