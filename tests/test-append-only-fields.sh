#!/usr/bin/env bash
# Issue 12, finding 6: COMMIT checks the fields list and reports show.
# Refused: a consistency the kind never records (a file backup that
# claims "application"), an unknown kind, a finish before the start or
# a day ahead of the server's clock.  stored-new is capped at the bytes
# the session stored and no earlier commit claimed: a backup that claims
# 6 MiB new after storing one 1022-byte chunk is listed with that
# chunk's 1054 bytes (32-byte header and payload), not 6 MiB.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
requires_root "sshd"
cd "$scratch"
start_append_only

mkdir src
seq 50000 > src/numbers
vmb files backup --name data src > b.out || fail "backup: $(cat b.out)"
newest=$(last_id data)

raw_client "$local_repo" "$newest" > forged.id <<'PY' || fail "raw protocol checks"
import re, sys
from vmbproto import *

repo, newest = sys.argv[1], sys.argv[2]
p = Proto.open_repo(repo)
rid, now, text = p.copy_now(newest)

p.expect(COMMIT, reseal(text, consistency="application").encode(), ERROR,
         "consistency application is not one of a files backup")
no_archive = re.sub(r"^archive .*\n", "", text, flags=re.M)
p.expect(COMMIT, reseal(no_archive, kind="tape").encode(), ERROR,
         "unknown kind tape")
p.expect(COMMIT, reseal(text, finished=now - 10).encode(), ERROR,
         "finished %d before it started" % (now - 10))
p.expect(COMMIT, reseal(text, finished=now + 86400).encode(), ERROR,
         "finish time %d is not within 300 seconds" % (now + 86400))

raw = b"one new chunk " * 73  # 1022 bytes, stored as is
p.expect(PUT, digest(raw) + chunk_file(raw), OK)
claim = re.sub(r" stored-new=\d+", " stored-new=6291456", text)
p.expect(COMMIT, reseal(claim).encode(), OK)
assert p.close() == 0
print(rid)
PY
VMBACKUP_REPO=$local_repo vmb list data --json > list.json || fail "list"
new=$(python3 -c 'import json, sys
print(*[b["stored_new"] for b in json.load(open(sys.argv[1])) if b["id"] == sys.argv[2]])' \
  list.json "$(cat forged.id)")
[ "$new" = 1054 ] || fail "stored-new listed as '$new': $(cat list.json)"
echo OK
