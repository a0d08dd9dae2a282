#!/usr/bin/env bash
# An encrypted repository works like one in the clear: image backups
# (full, then incremental by dedup), file backups, restore of both,
# verify with and without the key, prune and gc, locally and over ssh;
# and nothing of the data shows: a marker string in the image and the
# plain SHA-256 of its chunks are found nowhere in the repository.  The
# independent reader (tests/vmbread.py, written from the format page)
# restores the image with the passphrase.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
unset VMBACKUP_KEY_FILE  # this test gives each key itself
requires qemu-nbd
requires python3
/usr/bin/python3 -c 'import cryptography, zstandard, xxhash' 2>/dev/null || {
  echo "$0: SKIP: Debian's python3-cryptography, python3-zstandard and python3-xxhash are needed"
  exit 77
}
here=$(cd "$(dirname "$0")" && pwd)
cd "$scratch"
export VMBACKUP_PASSWORD="correct horse battery staple"
vmb init --chunk-size 64K --encryption aes-256-gcm > init.out ||
  fail "init: $(cat init.out)"
grep -qi "encrypt" init.out || fail "init does not say it encrypts: $(cat init.out)"

# An image with a marker in a chunk of its own, random data, text, holes.
marker="vmbackup-secret-marker-$$-$RANDOM"
truncate -s 4M disk.img
put_random disk.img 0 1
python3 - "$marker" <<'PY'
import sys
with open("disk.img", "r+b") as f:
    f.seek(1 << 20)
    f.write((sys.argv[1] + "\n").encode() * 4000)
PY
vmb backup --image d=disk.img > b1.out || fail "backup: $(cat b1.out)"
id1=$(last_id d)
put_random disk.img 3 1
vmb backup --image d=disk.img > b2.out || fail "second backup: $(cat b2.out)"
id2=$(last_id d)
cp disk.img disk-2.img

mkdir src
head -c 300K /dev/urandom > src/random
printf '%s\n' "$marker" > "src/$marker.txt"
vmb files backup --name f src > f1.out || fail "files backup: $(cat f1.out)"
[ "$(vmb list --json | grep -c '"encryption": "aes-256-gcm"')" = 3 ] \
  || fail "list --json does not say each backup is encrypted"

# Nothing readable: the marker, its file name, the plain SHA-256 of any
# chunk of the image.
if grep -rqa -- "$marker" "$VMBACKUP_REPO"; then
  fail "the marker is readable in the repository"
fi
python3 - "$VMBACKUP_REPO" <<'PY' || fail "a plain SHA-256 of the data is in the repository"
import hashlib, os, sys
repo = sys.argv[1]
blob, names = b"", ""
for root, _, files in os.walk(repo):
    for f in files:
        names += f + "\n"
        blob += open(os.path.join(root, f), "rb").read()
data = open("disk.img", "rb").read()
for i in range(0, len(data), 65536):
    d = hashlib.sha256(data[i:i + 65536])
    if d.digest() in blob or d.hexdigest().encode() in blob \
            or d.hexdigest() in names:
        sys.exit(1)
PY

# Restores with the key.
vmb restore "$id1" --to r1.img >/dev/null || fail "restore $id1"
vmb restore d --to r2.img >/dev/null || fail "restore d"
cmp disk-2.img r2.img || fail "latest restore differs"
grep -qa -- "$marker" r1.img || fail "first restore lacks the marker"
vmb files restore f --to rf >/dev/null || fail "files restore"
cmp src/random "rf$scratch/src/random" || fail "restored file differs"
[ -f "rf$scratch/src/$marker.txt" ] || fail "restored file name"

# The independent reader, from the format page.
printf '%s\n' "$VMBACKUP_PASSWORD" > pass
/usr/bin/python3 "$here/vmbread.py" "$VMBACKUP_REPO" "$id2" d r3.img \
  --password-file pass || fail "the independent reader cannot restore"
cmp disk-2.img r3.img || fail "the independent reader restores different bytes"

# Verify with and without the key.
vmb verify > v.out || fail "verify: $(cat v.out)"
(unset VMBACKUP_PASSWORD; vmb verify > v-keyless.out 2>&1) ||
  fail "verify without the key: $(cat v-keyless.out)"
grep -q "verified 3 backups" v-keyless.out || fail "keyless verify: $(cat v-keyless.out)"

# Prune and gc need no key.
(unset VMBACKUP_PASSWORD
 vmb prune d --keep-last 1 >/dev/null && vmb gc > gc.out) ||
  fail "prune/gc without the key: $(cat gc.out)"
vmb restore d --to r4.img >/dev/null && cmp disk-2.img r4.img ||
  fail "the kept backup does not restore after gc"

# Over ssh: the server never has the key.
if [ "$(id -u)" = 0 ]; then
  start_sshd
  authorize_key
  url=ssh://root@127.0.0.1:$ssh_port$VMBACKUP_REPO
  put_random disk.img 2 1
  vmb --repo "$url" backup --image d=disk.img > s1.out || fail "ssh backup: $(cat s1.out)"
  vmb --repo "$url" restore d --to s.img >/dev/null || fail "ssh restore"
  cmp disk.img s.img || fail "ssh restore differs"
  vmb --repo "$url" verify >/dev/null || fail "ssh verify"
  if grep -rqa -- "$marker" "$VMBACKUP_REPO"; then
    fail "the marker is readable after the ssh backup"
  fi
fi
echo OK
