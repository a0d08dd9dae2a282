#!/usr/bin/env bash
# Issue 12, finding 3 (and the forged lengths of finding 1): COMMIT
# checks a manifest against everything it names before it becomes
# visible.  Refused, each with the reason: a file backup whose stream
# map holds fewer entries than the manifest says (once committed, it
# made every gc refuse "while a backup is unreadable", and prune kept
# it as the newest), a map entry longer than the chunk it names, an
# index that calls a stored chunk 1 byte long (verify then blamed the
# healthy chunk), and an index naming a chunk that is not stored (also
# one the session put but dropped with END before publishing it).
# Afterwards gc, verify, prune and restore of the real backups work as
# before.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
requires_root "sshd"
cd "$scratch"
start_append_only

mkdir src
head -c 1M /dev/urandom > src/random
seq 50000 > src/numbers
vmb files backup --name data src > b.out || fail "backup: $(cat b.out)"
echo more >> src/numbers
vmb files backup --name data src > b.out || fail "backup: $(cat b.out)"
newest=$(last_id data)

raw_client "$local_repo" "$newest" <<'PY' || fail "raw protocol checks"
import os, re, sys
from vmbproto import *

repo, newest = sys.argv[1], sys.argv[2]
p = Proto.open_repo(repo)
rid, now, text = p.copy_now(newest)
archive = re.search(r"^archive (.*)$", text, re.M).group(1)
attrs = dict(kv.split("=", 1) for kv in archive.split(" "))

def with_archive(**changes):
    a = dict(attrs)
    a.update({k.replace("_", "-"): str(v) for k, v in changes.items()})
    line = "archive " + " ".join("%s=%s" % kv for kv in a.items())
    return reseal(re.sub(r"^archive .*$", line, text, flags=re.M))

def refused(manifest, pattern):
    p.expect(COMMIT, manifest.encode(), ERROR, pattern)

# 1. The data stream has one chunk more than its map holds.
refused(with_archive(data_chunks=int(attrs["data-chunks"]) + 1,
                     data_size=int(attrs["data-size"]) + 1),
        "data stream: index holds %d bytes, the backup says %d"
        % (40 * int(attrs["data-chunks"]), 40 * (int(attrs["data-chunks"]) + 1)))

# 2. A map of our own whose one entry is longer than its chunk.
raw = b"x" * 1000
p.expect(PUT, digest(raw) + chunk_file(raw), OK)
entries = u64(2000) + digest(raw)
p.expect(PUT, digest(entries) + chunk_file(entries), OK)
map_name, map_index = index_file(65536, len(entries), [digest(entries)])
assert p.upload_index(map_name, map_index)[0] == OK
refused(with_archive(data=map_name.hex(), data_size=2000, data_chunks=1),
        "data stream: chunk 0 \\(%s\\) has 1000 bytes, the backup says 2000"
        % digest(raw).hex()[:16])

# 3. A stored chunk of someone else's, called 1 byte long.
chunks = os.path.join(repo, "chunks")
victim = next(f for d in sorted(os.listdir(chunks))
              for f in sorted(os.listdir(os.path.join(chunks, d))))
with open(os.path.join(chunks, victim[:2], victim), "rb") as f:
    victim_len = struct.unpack("<I", f.read(32)[16:20])[0]
name, idx = index_file(65536, 1, [bytes.fromhex(victim)])
assert p.upload_index(name, idx)[0] == OK
forged = text.replace("\narchive ", "\nfile role=domain-xml size=1 index=%s "
                      "path=x\narchive " % name.hex())
refused(reseal(forged), "file domain-xml: chunk 0 \\(%s\\) has %d bytes, "
        "the backup says 1" % (victim[:16], victim_len))

# 4. An index naming a chunk nobody stored.
name, idx = index_file(65536, 1000, [digest(b"never stored")])
assert p.upload_index(name, idx)[0] == OK
forged = text.replace("\narchive ", "\nfile role=nvram size=1000 index=%s "
                      "path=x\narchive " % name.hex())
refused(reseal(forged), "file nvram: chunk 0 .*missing")

# 5. A chunk put, then dropped unpublished by END: not stored after all.
full = os.urandom(65536)
p.expect(PUT, digest(full) + chunk_file(full), OK)
p.expect(END, b"", OK)
name, idx = index_file(65536, 65536, [digest(full)])
assert p.upload_index(name, idx)[0] == OK
forged = text.replace("\narchive ", "\nfile role=tpm size=65536 index=%s "
                      "path=x\narchive " % name.hex())
refused(reseal(forged), "file tpm: chunk 0 .*missing")

# The real backup, as it was, under the reserved ID: accepted.
p.expect(COMMIT, text.encode(), OK)
assert p.close() == 0
PY

export VMBACKUP_REPO=$local_repo
[ "$(vmb list data | wc -l)" = 4 ] || fail "list: $(vmb list data)"
vmb gc > gc.out 2>&1 || fail "gc refused after forged commits: $(cat gc.out)"
vmb verify > v.out || fail "verify: $(cat v.out)"
grep -q "verified 3 backups" v.out || fail "verify: $(cat v.out)"
[ ! -e "$local_repo/quarantine" ] || fail "verify quarantined healthy chunks"
vmb prune data --keep-last 1 > prune.out || fail "prune: $(cat prune.out)"
vmb gc > gc.out 2>&1 || fail "gc after prune: $(cat gc.out)"
vmb files restore data --to restored > r.out || fail "restore: $(cat r.out)"
cmp src/numbers "restored$scratch/src/numbers" || fail "restored numbers differ"
cmp src/random "restored$scratch/src/random" || fail "restored random differs"
echo OK
