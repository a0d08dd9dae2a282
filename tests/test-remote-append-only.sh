#!/usr/bin/env bash
# An ssh key whose forced command is
#   vmbackup serve --append-only --restrict-to-path DIR
# can add backups and read them, but not delete, prune, gc or overwrite:
# the CLI gets a one-line refusal, and a raw protocol client
# (tests/vmbproto.py, written from docs/vmbackup-protocol.pod) cannot
# overwrite a chunk, plant garbage under a digest, commit a backup ID it
# did not reserve or one naming an index that is not there.  Verify over
# such a key reports damage without moving anything.  Repositories
# outside DIR are refused, also through '..' and symlinks.  The
# repository verifies clean locally at the end.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
in_the_clear  # its raw client forges chunks and manifests in the clear
requires_root "sshd"
here=$(cd "$(dirname "$0")" && pwd)
cd "$scratch"
start_sshd
allowed=$scratch/allowed
mkdir -p "$allowed" "$scratch/outside"
VMBACKUP_REPO=$allowed/repo vmb init --encryption none --chunk-size 64K >/dev/null
VMBACKUP_REPO=$scratch/outside/repo vmb init --encryption none >/dev/null
authorize_key "command=\"$VMBACKUP serve --append-only --restrict-to-path $allowed\",restrict"
base=ssh://root@127.0.0.1:$ssh_port
export VMBACKUP_REPO=$base$allowed/repo

mkdir src
head -c 2M /dev/urandom > src/random
seq 200000 > src/numbers
vmb files backup --name data src > b1.out || fail "append-only backup: $(cat b1.out)"
echo more >> src/numbers
vmb files backup --name data src > b2.out || fail "second backup: $(cat b2.out)"
id=$(last_id data)
vmb files restore "$id" --to restored >/dev/null || fail "restore over append-only key"
cmp src/numbers "restored$scratch/src/numbers" || fail "restored file differs"
[ "$(vmb list | wc -l)" = 3 ] || fail "list: $(vmb list)"

expect_fail 1 "deleting backups is refused: the repository is append-only" \
  vmb prune data --keep-last 1
[ "$(wc -l < "$scratch/err")" = 1 ] || fail "prune refusal is not one line: $(cat "$scratch/err")"
expect_fail 1 "gc is refused: the repository is append-only" vmb gc
expect_fail 1 "gc is refused" vmb gc --dry-run
[ "$(vmb list | wc -l)" = 3 ] || fail "a refused prune deleted something"
vmb prune data --keep-last 1 --dry-run >/dev/null || fail "prune --dry-run deletes nothing: allowed"

# Raw requests the real client never sends.
HERE=$here SSH_PORT=$ssh_port python3 - "$allowed/repo" "$id" <<'PY' || fail "raw protocol checks"
import hashlib, os, re, shlex, sys, time
sys.path.insert(0, os.environ["HERE"])
from vmbproto import *

repo, backup_id = sys.argv[1], sys.argv[2]
port = os.environ["SSH_PORT"]
argv = shlex.split(os.environ["VMBACKUP_RSH"]) + ["-p", port, "root@127.0.0.1",
                                                 "vmbackup serve"]
p = Proto(argv)

def expect(status_payload, status, pattern):
    st, body = status_payload
    text = body.decode(errors="replace")
    assert st == status, (st, text)
    if pattern:
        assert re.search(pattern, text), text
    return body

expect(p.call(OPEN, open_payload(repo)), OK, None)
expect(p.call(DELETE, string(backup_id)), ERROR, "append-only")
expect(p.call(GC, b"\x00"), ERROR, "append-only")

# An existing chunk stored uncompressed (the random file's), as it is.
chunks = os.path.join(repo, "chunks")
def stored_raw(name):
    with open(os.path.join(chunks, name[:2], name), "rb") as f:
        return f.read(16)[12:16] == bytes(4)
name = next(f for d in sorted(os.listdir(chunks))
            for f in sorted(os.listdir(os.path.join(chunks, d))) if stored_raw(f))
path = os.path.join(chunks, name[:2], name)
before = open(path, "rb").read()
st_before = os.stat(path)
d = bytes.fromhex(name)

# Garbage under its digest: refused, the file untouched.
expect(p.call(PUT, d + chunk_file(b"not the data" * 100)), ERROR,
       "refused: chunk content does not match its digest")
# A damaged chunk file: refused.
bad = bytearray(chunk_file(b"x" * 1000)); bad[40] ^= 1
expect(p.call(PUT, digest(b"x" * 1000) + bytes(bad)), ERROR, "checksum mismatch")
# A chunk file larger than this 64K repository's chunks can make.
expect(p.call(PUT, d + bytes(32 + 65536 + 1)), ERROR, "larger than a chunk file")
# The right data again, in a chunk file of our own making: accepted as
# already there, and the stored file is not rewritten.
st, raw = p.call(GET, d)
assert st == OK and raw == before
body = expect(p.call(PUT, d + chunk_file(raw[32:])), OK, None)
assert body[0] == 0, "an existing chunk was stored again"
expect(p.call(FINISH), OK, None)
after = open(path, "rb").read()
st_after = os.stat(path)
assert before == after and st_before.st_ino == st_after.st_ino, "chunk rewritten"

# Committing under an ID this client did not reserve (an existing one).
text = expect(p.call(MANIFEST_GET, string(backup_id)), OK, None)
expect(p.call(COMMIT, text), ERROR, "not reserved by this client")
# Under a fresh ID, but naming an index that does not exist.
now = int(time.time())
rid = expect(p.call(RESERVE, string("data") + u64(now)), OK, None)[4:].decode()
lines = text.decode().splitlines(True)
body = "".join(l for l in lines if not l.startswith("checksum "))
body = re.sub(r"^id .*$", "id " + rid, body, count=1, flags=re.M)
body = re.sub(r"^(time|finished) .*$", r"\1 %d" % now, body, flags=re.M)
body = re.sub(r"data=[0-9a-f]{64}", "data=" + "ab" * 32, body, count=1)
body += "checksum " + hashlib.sha256(body.encode()).hexdigest() + "\n"
expect(p.call(COMMIT, body.encode()), ERROR, "index abababab.*missing")
expect(p.call(UNRESERVE, string(backup_id)), ERROR, "not reserved by this client")
expect(p.call(UNRESERVE, string(rid)), OK, None)
# Malformed and unknown requests: an error each, the session goes on.
expect(p.call(REFRESH, u32(0)), ERROR, "malformed REFRESH")
expect(p.call(99), ERROR, "unknown request 99")
expect(p.call(LIST, string("") + string("")), OK, None)
assert p.close() == 0
PY

# Verify over the append-only key reports damage and moves nothing.
chunk=$(find "$allowed/repo/chunks" -type f -size +10k -print -quit)
cp "$chunk" saved
printf 'garbage' | dd of="$chunk" bs=1 seek=40 conv=notrunc status=none
rc=0; vmb verify > v.out || rc=$?
[ $rc = 1 ] && grep -q "^BAD backup data/" v.out || fail "damage not reported: $(cat v.out)"
grep -q quarantine v.out && fail "append-only verify quarantined: $(cat v.out)"
[ -f "$chunk" ] || fail "append-only verify moved the damaged chunk"
[ ! -e "$allowed/repo/quarantine" ] || fail "quarantine/ appeared"
cp saved "$chunk"

# restrict-to-path: outside, through '..', through symlinks.
ln -s ../outside "$allowed/link"
expect_fail 1 "outside the paths this server allows" vmb --repo "$base$scratch/outside/repo" list
expect_fail 1 "outside the paths this server allows" vmb --repo "$base$allowed/../outside/repo" list
expect_fail 1 "outside the paths this server allows" vmb --repo "$base$allowed/link/repo" list
expect_fail 1 "outside the paths this server allows" vmb --repo "$base$allowed/link/new" init --encryption none
[ ! -e "$scratch/outside/new" ] || fail "init through a symlink created a repository outside"
expect_fail 1 "not absolute|not a repository URL" vmb --repo "ssh://root@127.0.0.1:$ssh_port/" list
vmb --repo "$base$allowed/new" init --encryption none >/dev/null || fail "init inside the allowed path"
vmb --repo "$base$allowed/new" list >/dev/null || fail "list of a new repository"

VMBACKUP_REPO=$allowed/repo vmb verify > local.out || fail "local verify: $(cat local.out)"
grep -q "verified 2 backups" local.out || fail "local verify: $(cat local.out)"
[ -z "$(ls -A "$allowed/repo/tmp")" ] || fail "files left in tmp/"
echo OK
