#!/usr/bin/env bash
# A backup whose index names real chunks of another backup with the wrong
# lengths (as an append-only client can commit) is that backup's fault:
# verify reports it against the forged backup on every reference, in
# whichever order the backups are checked, never moves the healthy chunks
# to quarantine/, and the victim still restores byte-identical; restore of
# the forged backup fails with one clear line.
source "$(dirname "$0")/functions.sh"
in_the_clear  # it forges an index through the format in the clear
requires qemu-nbd
requires python3
testdir=$(cd "$(dirname "$0")" && pwd)

cd "$scratch"
vmb init --encryption none --chunk-size 64K >/dev/null
truncate -s 1M disk.img
put_random disk.img 0 1          # 16 chunks of data
vmb backup --image m=disk.img >/dev/null
victim=$(last_id m)

# Commit, as a client could, backup NAME/STAMP whose one-disk index says
# the disk is 1 byte (one chunk) and names the victim's first chunk,
# which has 65536 bytes.
forge ()
{
  python3 - "$VMBACKUP_REPO" "$victim" "$1" <<'PY'
import hashlib, struct, sys
repo, victim, fid = sys.argv[1:]
text = open(f"{repo}/backups/{victim}").read()
idx_line = [l for l in text.splitlines() if l.startswith("disk ")][0]
vidx = [w for w in idx_line.split() if w.startswith("index=")][0][6:]
data = open(f"{repo}/indexes/{vidx}.idx", "rb").read()
first = data[64:96]
hdr = b"VMBINDX1" + struct.pack("<IIQQ", 1, 65536, 1, 1) + bytes(32)
body = hdr + first
trailer = hashlib.sha256(body).digest()
open(f"{repo}/indexes/{trailer.hex()}.idx", "wb").write(body + trailer)
name = fid.split("/")[0]
out = []
for l in text.splitlines()[:-1]:          # without the checksum line
    if l.startswith("id "):
        l = "id " + fid
    elif l.startswith("name "):
        l = "name " + name
    elif l.startswith("time ") or l.startswith("finished "):
        l = l.split()[0] + " 1577836800"   # the ID's stamp, 2020-01-01
    elif l.startswith("disk "):
        l = f"disk name=d format=raw size=1 index={trailer.hex()} stored-new=0 read=full bytes-read=0"
    out.append(l)
body = "\n".join(out) + "\n"
body += "checksum " + hashlib.sha256(body.encode()).hexdigest() + "\n"
import os
os.makedirs(f"{repo}/backups/{name}", exist_ok=True)
open(f"{repo}/backups/{fid}", "w").write(body)
PY
}

chunks_before=$(find "$VMBACKUP_REPO/chunks" -type f | sort)
check ()
{
  local what=$1 rc=0
  shift
  vmb verify > verify.out 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat verify.out; fail "$what: verify exit $rc, not 1"; }
  for id in "$@"; do
    grep -qE "^BAD backup $id disk d offset 0: chunk [0-9a-f]{64} has 65536 bytes, this backup expects 1: the backup's index is wrong" verify.out \
      || { cat verify.out; fail "$what: forged backup $id not reported"; }
  done
  if grep "BAD backup $victim" verify.out; then
    fail "$what: the victim is blamed"
  fi
  if grep -q quarantine verify.out || [ -n "$(ls -A "$VMBACKUP_REPO/quarantine" 2>/dev/null)" ]; then
    cat verify.out; fail "$what: a healthy chunk went to quarantine/"
  fi
  [ "$(find "$VMBACKUP_REPO/chunks" -type f | sort)" = "$chunks_before" ] \
    || fail "$what: chunks/ changed"
  rm -f out.img
  vmb restore "$victim" --to out.img >/dev/null || fail "$what: victim does not restore"
  cmp disk.img out.img || fail "$what: victim restores different bytes"
  rm -f out.img
}

# Checked after the victim: the chunk is known good already, and the
# length must still be checked.
forge z/20200101T000000Z
check "forged after victim" z/20200101T000000Z

# Checked before the victim: the chunk is read first for the forged
# backup.
forge a/20200101T000000Z
check "forged before victim" a/20200101T000000Z z/20200101T000000Z

# Restore of a forged backup refuses with one line and writes nothing.
expect_fail 1 "chunk has 65536 bytes, the backup's index expects 1" \
  vmb restore a/20200101T000000Z --to out.img
[ "$(wc -l < "$scratch/err")" = 1 ] || { cat "$scratch/err"; fail "restore error is not one line"; }
[ ! -e out.img ] || fail "restore of the forged backup left a file"

# Over ssh (where sshd is there to test with) verify runs on the server,
# and restore checks the chunks on the client: the same outcome.
if [ "$(id -u)" = 0 ] && { [ -x /usr/sbin/sshd ] || command -v sshd >/dev/null; }; then
  source "$testdir/functions-ssh.sh"
  start_sshd
  authorize_key
  local_repo=$VMBACKUP_REPO
  remote=ssh://root@127.0.0.1:$ssh_port$local_repo
  rc=0; VMBACKUP_REPO=$remote vmb verify > verify.out 2>&1 || rc=$?
  [ "$rc" = 1 ] || { cat verify.out; fail "ssh: verify exit $rc, not 1"; }
  for id in a/20200101T000000Z z/20200101T000000Z; do
    grep -qE "^BAD backup $id disk d offset 0: chunk [0-9a-f]{64} has 65536 bytes, this backup expects 1" verify.out \
      || { cat verify.out; fail "ssh: forged backup $id not reported"; }
  done
  [ -z "$(ls -A "$local_repo/quarantine" 2>/dev/null)" ] || fail "ssh: something went to quarantine/"
  VMBACKUP_REPO=$remote vmb restore "$victim" --to out.img >/dev/null && cmp disk.img out.img \
    || fail "ssh: victim does not restore"
  rm out.img
  VMBACKUP_REPO=$remote expect_fail 1 "chunk has 65536 bytes, the backup's index expects 1" \
    vmb restore z/20200101T000000Z --to out.img
  [ ! -e out.img ] || fail "ssh: restore of the forged backup left a file"
fi
echo OK
