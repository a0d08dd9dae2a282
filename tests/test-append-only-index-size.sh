#!/usr/bin/env bash
# Issue 12, finding 4: index uploads are bounded.  INDEX_BEGIN of 2^62
# bytes is refused (an index describes at most 1 PiB); INDEX_DATA must
# come in order, so a client cannot make a huge sparse file in tmp/ by
# writing near the end of a large announced length; an upload that was
# not completed is not committed.  A session that then sends nothing
# ends after serve's --idle-timeout: its uploads leave tmp/ and its
# writer registration, which holds back gc, goes.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
requires_root "sshd"
cd "$scratch"
start_append_only "--idle-timeout 3"

raw_client "$local_repo" <<'PY' || fail "raw protocol checks"
import os, sys, time
from vmbproto import *

repo = sys.argv[1]
p = Proto.open_repo(repo)

def tmp_bytes():
    tmp = os.path.join(repo, "tmp")
    return sum(os.stat(os.path.join(tmp, f)).st_size for f in os.listdir(tmp))

name = bytes(range(32))
p.expect(INDEX_BEGIN, name + u64(1 << 62), ERROR,
         "index of %d bytes refused: larger than an index of this "
         "repository can be \\(%d\\)" % (1 << 62, 96 + 32 * (1 << 34)))
# The largest index of 64 KiB chunks is 512 GiB: announced, but only
# what is sent, in order, is written.
biggest = 96 + 32 * (1 << 34)
p.expect(INDEX_BEGIN, name + u64(biggest), OK)
p.expect(INDEX_DATA, name + u64(biggest - 1000) + bytes(1000), ERROR,
         "index data at offset %d, expected 0 \\(data must come in order\\)"
         % (biggest - 1000))
p.expect(INDEX_DATA, name + u64(0) + bytes(100), OK)
p.expect(INDEX_DATA, name + u64(200) + bytes(100), ERROR, "expected 100")
p.expect(INDEX_DATA, name + u64(100) + bytes(100), OK)
assert tmp_bytes() < 1 << 20, "tmp/ holds %d bytes" % tmp_bytes()
p.expect(INDEX_COMMIT, name, ERROR, "index upload incomplete")
assert not os.listdir(os.path.join(repo, "indexes"))

# Idle: the session ends by itself, uploads and registration dropped.
p.expect(INDEX_BEGIN, name + u64(biggest), OK)
p.expect(INDEX_DATA, name + u64(0) + bytes(100), OK)
writers = os.path.join(repo, "locks", "writers")
assert os.listdir(writers), "no writer registration"
start = time.time()
assert p.proc.wait(timeout=30) != 0
assert time.time() - start < 20, "the idle session lasted too long"
assert not os.listdir(writers), "writer registration left: %s" % os.listdir(writers)
assert tmp_bytes() == 0, "upload left in tmp/"
PY
VMBACKUP_REPO=$local_repo vmb gc > gc.out 2>&1 || fail "gc: $(cat gc.out)"
echo OK
