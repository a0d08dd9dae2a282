#!/usr/bin/env bash
# Each kind of damage is found and named by verify (backup, disk, offset),
# and restore refuses with a clear error and writes nothing.
source "$(dirname "$0")/functions.sh"
tests_dir=$(cd "$(dirname "$0")" && pwd)
requires qemu-nbd
requires python3

cd "$scratch"
vmb init --chunk-size 1M >/dev/null
truncate -s 16M disk.img
put_random disk.img 0 8         # chunks at offsets 0..7 MiB
vmb backup --image d=disk.img >/dev/null
id=$(last_id d)
vmb verify >/dev/null || fail "fresh repository does not verify"

# The chunk holding disk offset $1 MiB.
chunk_at ()
{
  python3 - "$VMBACKUP_REPO" "$1" <<'PY'
import glob, sys
repo, mib = sys.argv[1], int(sys.argv[2])
idx = glob.glob(repo + "/indexes/*.idx")[0]
data = open(idx, "rb").read()
d = data[64 + 32 * mib: 64 + 32 * (mib + 1)].hex()
print(f"{repo}/chunks/{d[:2]}/{d}")
PY
}

# restore must refuse with the cause (it checks less before decrypting,
# and names the damage only when decryption fails) and leave no output
# file; verify must fail, name backup/disk/offset and the cause (and move
# the chunk to quarantine/, so it goes last).
expect_damage ()
{
  local what=$1 pattern=$2 rc=0
  rm -f out.img
  expect_fail 1 "^vmbackup: restore" vmb restore d --to out.img
  [ "$(wc -l < "$scratch/err")" = 1 ] || { cat "$scratch/err"; fail "$what: restore error is not one line"; }
  grep -qE -- "${pattern##*: }" "$scratch/err" || { cat "$scratch/err"; fail "$what: restore did not name the cause"; }
  vmb verify > verify.out 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat verify.out; fail "$what: verify exit $rc, not 1"; }
  grep -qE -- "$pattern" verify.out || { cat verify.out; fail "$what: verify did not report '$pattern'"; }
  [ ! -e out.img ] || fail "$what: restore left a file behind"
  ls -a | grep -q vmbackup-partial && fail "$what: restore left a partial file"
  true
}

# 1. A flipped byte in a chunk.
c=$(chunk_at 3); cp "$c" saved
printf '\xff' | dd of="$c" bs=1 seek=5000 conv=notrunc status=none
expect_damage "flipped byte" "^BAD backup $id disk d offset 3145728: chunk [0-9a-f]+: chunk payload checksum mismatch"
cp saved "$c"

# 1b. Another chunk's file under this chunk's name.
cp "$(chunk_at 4)" "$c"
expect_damage "swapped chunk" "^BAD backup $id disk d offset 3145728: chunk [0-9a-f]+: chunk check mismatch \\(damaged, or stored under another chunk's name\\)"
cp saved "$c"

# 1c. Only the payload CRC field changed (its header CRC made right):
# the content is whole, and its tag and name say so, so a restore with
# the key (which does not compute that CRC) gives the disk back; verify
# reports the field, which a check without the key relies on.
PYTHONPATH=$tests_dir python3 - "$c" <<'PY'
import struct, sys
from vmbproto import crc32c
path = sys.argv[1]
f = bytearray(open(path, "rb").read())
f[24:28] = struct.pack("<I", struct.unpack("<I", f[24:28])[0] ^ 1)
f[28:32] = struct.pack("<I", crc32c(bytes(f[0:28])))
open(path, "wb").write(f)
PY
rm -f out.img
vmb restore d --to out.img > /dev/null || fail "a chunk with only its payload CRC field changed did not restore"
cmp disk.img out.img || fail "a chunk with only its payload CRC field changed restored different data"
rm -f out.img
rc=0; vmb verify > verify.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -qE "^BAD backup $id disk d offset 3145728: chunk [0-9a-f]+: chunk payload checksum mismatch" verify.out ||
  { cat verify.out; fail "verify did not report the changed payload CRC field"; }
cp saved "$c"

# 2. A truncated chunk.
truncate -s 1000 "$c"
expect_damage "truncated chunk" "^BAD backup $id disk d offset 3145728: chunk [0-9a-f]+: truncated chunk"
cp saved "$c"

# 3. A missing chunk.
rm "$c"
expect_damage "missing chunk" "^BAD backup $id disk d offset 3145728: chunk [0-9a-f]+: missing"
cp saved "$c"
vmb verify >/dev/null || fail "repaired repository does not verify"

# 4. A truncated index.
idx=$(ls "$VMBACKUP_REPO"/indexes/*.idx); cp "$idx" saved.idx
truncate -s 100 "$idx"
expect_damage "truncated index" "^BAD backup $id disk d: index [0-9a-f]+: truncated"
cp saved.idx "$idx"

# 5. A garbage manifest.
m="$VMBACKUP_REPO/backups/$id"; cp "$m" saved.manifest
head -c 300 /dev/urandom > "$m"
rc=0; vmb verify > verify.out 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "garbage manifest: verify exit $rc"
grep -q "^BAD backup $id: not a vmbackup manifest" verify.out || { cat verify.out; fail "garbage manifest not named"; }
expect_fail 1 "backup $id: not a vmbackup manifest" vmb restore "$id" --to out.img
[ ! -e out.img ] || fail "restore with garbage manifest wrote a file"
# A manifest with one changed byte is caught by its checksum.
sed 's/downtime-ms 0/downtime-ms 1/' saved.manifest > "$m"
expect_fail 1 "manifest checksum mismatch" vmb restore "$id" --to out.img
cp saved.manifest "$m"

# 6. Chunk header damage (magic) is caught before decompression.
printf 'X' | dd of="$c" bs=1 seek=0 conv=notrunc status=none
expect_damage "bad magic" "not a chunk \(bad magic\)"
cp saved "$c"

vmb verify | tail -1 | grep -q ": 0 problems" || fail "repository should be clean again"
vmb restore d --to out.img >/dev/null && cmp disk.img out.img || fail "restore after repair"
rm out.img

# 7. Self-healing: verify moves a damaged chunk aside; the next backup of
#    the same data stores it again, and the old backup is whole again.
printf '\xff' | dd of="$c" bs=1 seek=5000 conv=notrunc status=none
vmb verify > verify.out && fail "damage not found"
grep -q "moved to quarantine/" verify.out || { cat verify.out; fail "damaged chunk not quarantined"; }
[ ! -e "$c" ] || fail "damaged chunk still in chunks/"
vmb backup --image d=disk.img >/dev/null
vmb verify > verify.out || { cat verify.out; fail "backup did not repair the damaged chunk"; }
vmb restore "$id" --to out.img >/dev/null && cmp disk.img out.img || fail "old backup not repaired"
echo OK
