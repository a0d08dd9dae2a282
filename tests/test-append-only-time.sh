#!/usr/bin/env bash
# Issue 12, finding 2: an append-only client does not choose when its
# backups were taken.  RESERVE refuses start times more than 300 s from
# the server's clock (2100, the year-109626219 time that made the ID
# data/109626219-163701969600T074504Z, yesterday, an hour ahead), and
# COMMIT refuses a manifest re-dated after its reservation, so that
# prune --keep-last and restore NAME keep choosing the real newest
# backups.  A manifest file planted by hand under a malformed ID is not
# listed, pruned around or restored locally either.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
requires_root "sshd"
cd "$scratch"
start_append_only

mkdir src
seq 50000 > src/numbers
for i in 1 2 3 4; do
  echo "$i" >> src/numbers
  vmb files backup --name data src > b.out || fail "backup $i: $(cat b.out)"
done
newest=$(last_id data)
cp src/numbers numbers.newest

raw_client "$local_repo" "$newest" <<'PY' || fail "raw protocol checks"
import sys, time
from vmbproto import *

repo, newest = sys.argv[1], sys.argv[2]
p = Proto.open_repo(repo)
text = p.expect(MANIFEST_GET, string(newest), OK).decode()
now = int(time.time())
for t in (4102444800, 3459422764800000, now - 86400, now + 3600):
    p.expect(RESERVE, string("data") + u64(t), ERROR,
             "backup start time %d is not within 300 seconds of this "
             "server's clock" % t)
# A time taken now, then a manifest dated 2100 under it.
rid = p.reserve("data", now)
p.expect(COMMIT, reseal(text, id=rid, time=4102444800,
                        finished=4102444800).encode(), ERROR,
         "time 4102444800 is not the start time %d it reserved" % now)
p.expect(UNRESERVE, string(rid), OK)
assert p.close() == 0
PY

[ "$(vmb list data | wc -l)" = 5 ] || fail "list: $(vmb list data)"
vmb list data | grep -q "2100\|109626219" && fail "a forged date is listed: $(vmb list data)"

# A manifest planted by hand under a malformed ID, dated far ahead.
export VMBACKUP_REPO=$local_repo
forged=109626219-163701969600T074504Z
PYTHONPATH=$_tests_dir python3 - "$local_repo/backups/$newest" \
  "$local_repo/backups/data/$forged" "data/$forged" <<'PY'
import sys
from vmbproto import reseal
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(reseal(text, id=sys.argv[3],
                                    time=3459422764800000))
PY
vmb list data > list.out 2> list.err || fail "list: $(cat list.err)"
grep -q "$forged" list.out && fail "malformed ID listed: $(cat list.out)"
vmb prune data --keep-last 3 > prune.out || fail "prune: $(cat prune.out)"
vmb list data > list.out
[ "$(wc -l < list.out)" = 4 ] || fail "prune kept: $(cat list.out)"
grep -q "^$newest " list.out || fail "prune deleted the newest backup: $(cat list.out)"
vmb files restore data --to restored > r.out || fail "restore data: $(cat r.out)"
cmp numbers.newest "restored$scratch/src/numbers" ||
  fail "restore NAME did not restore the newest real backup"
echo OK
