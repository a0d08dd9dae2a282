#!/usr/bin/env bash
# Attacks on an encrypted repository are named by verify and restore,
# and nothing wrong is ever written:
#   - a wrong passphrase, another repository's key file: one line,
#     nothing changed;
#   - a flipped bit in a chunk's ciphertext, a truncated chunk, a deleted
#     chunk, a truncated index: found by verify with the key AND without
#     it (the storage side), with the same number of problems;
#   - a chunk file moved under another chunk's name: found with and
#     without the key;
#   - a chunk from a second repository (other key) planted under a name
#     of this one, its keyless check recomputed as anyone can: found with
#     the key (authentication), restore refuses;
#   - a sealed manifest replayed under another backup ID (checksum and
#     envelope made right): refused with the key.
source "$(dirname "$0")/functions.sh"
unset VMBACKUP_KEY_FILE  # this test gives each key itself
requires qemu-nbd
requires python3
/usr/bin/python3 -c 'import cryptography, zstandard, xxhash' 2>/dev/null || {
  echo "$0: SKIP: Debian's python3-cryptography, python3-zstandard and python3-xxhash are needed"
  exit 77
}
cd "$scratch"
export VMBACKUP_PASSWORD="the right one"
vmb init --chunk-size 64K --encryption aes-256-gcm >/dev/null
truncate -s 2M disk.img
put_random disk.img 0 2
vmb backup --image d=disk.img >/dev/null
id=$(last_id d)
vmb verify >/dev/null || fail "a fresh encrypted repository does not verify"
repo=$VMBACKUP_REPO

# Wrong passphrase; another repository's key file.
keys_before=$(ls -l "$repo/keys"; cat "$repo"/keys/*)
VMBACKUP_PASSWORD=wrong expect_fail 1 "wrong passphrase" vmb restore d --to x.img
[ "$(wc -l < "$scratch/err")" = 1 ] || fail "wrong passphrase: not one line: $(cat "$scratch/err")"
[ ! -e x.img ] || fail "wrong passphrase: restore wrote a file"
[ "$keys_before" = "$(ls -l "$repo/keys"; cat "$repo"/keys/*)" ] || fail "keys/ changed"
(unset VMBACKUP_PASSWORD
 vmb --key-file other.key --repo "$scratch/other" init --chunk-size 64K \
   --encryption aes-256-gcm >/dev/null) || fail "init with a new key file"
[ -f other.key ] || fail "init did not create the key file"
(unset VMBACKUP_PASSWORD
 expect_fail 1 "wrong key file|has no key file key slot" vmb --key-file other.key restore d --to x.img)
[ ! -e x.img ] || fail "another key file: restore wrote a file"

# The chunk file holding disk chunk $1 (from the index, readable).
chunk_at ()
{
  python3 - "$repo" "$1" <<'PY'
import glob, sys
repo, i = sys.argv[1], int(sys.argv[2])
idx = [f for f in glob.glob(repo + "/indexes/*.idx")
       if open(f, "rb").read(24)[16:24] == (2 << 20).to_bytes(8, "little")][0]
d = open(idx, "rb").read()[64 + 32 * i: 96 + 32 * i].hex()
print(f"{repo}/chunks/{d[:2]}/{d}")
PY
}

# verify with the key and without it: both fail, naming the backup, with
# the same number of problems; restore refuses in one line, writes
# nothing.
both_find ()
{
  local what=$1 rc=0 n1 n2
  vmb verify > keyed.out 2>&1 || rc=$?
  [ $rc = 1 ] || { cat keyed.out; fail "$what: keyed verify exit $rc"; }
  rc=0
  (unset VMBACKUP_PASSWORD; vmb verify > keyless.out 2>&1) || rc=$?
  [ $rc = 1 ] || { cat keyless.out; fail "$what: keyless verify exit $rc"; }
  n1=$(grep -c "^BAD backup $id" keyed.out || true)
  n2=$(grep -c "^BAD backup $id" keyless.out || true)
  [ "$n1" -ge 1 ] && [ "$n1" = "$n2" ] ||
    fail "$what: keyed verify found $n1, keyless $n2: $(cat keyed.out keyless.out)"
  rm -f x.img
  expect_fail 1 "^vmbackup: " vmb restore d --to x.img
  [ ! -e x.img ] || fail "$what: restore wrote a file"
  [ "$(wc -l < "$scratch/err")" = 1 ] || fail "$what: restore error: $(cat "$scratch/err")"
  # Verify may have moved damaged chunks to quarantine/: put them back.
  rm -rf "$repo/quarantine"
}

c=$(chunk_at 5)
cp "$c" saved
printf '\x01' | dd of="$c" bs=1 seek=1000 conv=notrunc status=none
both_find "flipped bit in the ciphertext"
cp saved "$c"
truncate -s 5000 "$c"
both_find "truncated chunk"
cp saved "$c"
rm "$c"
both_find "deleted chunk"
cp saved "$c"

# Moved under another chunk's name.
c2=$(chunk_at 9)
cp "$c2" saved2
cp "$c" "$c2"
both_find "chunk under another chunk's name"
cp saved2 "$c2"

# From another repository with another key, the keyless check redone for
# this name: only the key finds it.
VMBACKUP_PASSWORD=other-repo vmb --repo "$scratch/second" init --chunk-size 64K \
  --encryption aes-256-gcm >/dev/null
VMBACKUP_PASSWORD=other-repo vmb --repo "$scratch/second" backup --image d=disk.img >/dev/null
foreign=$(find "$scratch/second/chunks" -type f -size +60k | head -1)
/usr/bin/python3 - "$foreign" "$c" <<'PY' || fail "could not plant the foreign chunk"
import os, sys, xxhash
src, dst = sys.argv[1], sys.argv[2]
f = bytearray(open(src, "rb").read())
name = bytes.fromhex(os.path.basename(dst))
f[-16:] = xxhash.xxh3_128_digest(name + bytes(f[:-16]))
open(dst, "wb").write(f)
PY
rm -f x.img
expect_fail 1 "authentication failed" vmb restore d --to x.img
[ ! -e x.img ] || fail "foreign chunk: restore wrote a file"
rc=0; vmb verify > keyed.out 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "authentication failed" keyed.out ||
  fail "a foreign chunk was not found with the key: $(cat keyed.out)"
rm -rf "$repo/quarantine"
cp saved "$c"

# Index truncated.
idx=$(grep -o 'index=[0-9a-f]*' "$repo/backups/$id" | head -1 | cut -d= -f2)
cp "$repo/indexes/$idx.idx" saved-idx
truncate -s 100 "$repo/indexes/$idx.idx"
both_find "truncated index"
cp saved-idx "$repo/indexes/$idx.idx"

# A sealed manifest replayed under another ID: envelope and checksum
# made right, as anyone can; the key holder refuses it.
stamp=20200101T000000Z
python3 - "$repo/backups/$id" "$repo/backups/d/$stamp" "d/$stamp" <<'PY'
import hashlib, sys
src, dst, new_id = sys.argv[1:4]
lines = open(src).read().splitlines()[:-1]
out = []
for l in lines:
    if l.startswith("id "):
        l = "id " + new_id
    elif l.startswith("time ") or l.startswith("finished "):
        l = l.split()[0] + " 1577836800"
    out.append(l)
body = "\n".join(out) + "\n"
open(dst, "w").write(body + "checksum " + hashlib.sha256(body.encode()).hexdigest() + "\n")
PY
rm -f x.img
expect_fail 1 "does not open" vmb restore "d/$stamp" --to x.img
[ ! -e x.img ] || fail "replayed manifest: restore wrote a file"
rc=0; vmb verify > keyed.out 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "d/$stamp" keyed.out || fail "verify did not name the replayed manifest: $(cat keyed.out)"
rm "$repo/backups/d/$stamp"

vmb verify >/dev/null || fail "the repaired repository does not verify"
vmb restore d --to final.img >/dev/null && cmp disk.img final.img ||
  fail "the backup does not restore after the attacks were undone"
echo OK
