#!/usr/bin/env bash
# The OSD stopped in the middle of a backup: radosgw takes requests but
# cannot answer them.  The backup fails with one clear line once
# VMBACKUP_S3_TIMEOUT passes without progress, never hangs, and leaves
# nothing visible; with the OSD back, the next backup succeeds and
# restores identical.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires qemu-nbd
start_ceph_repo s3://vmb/osd
export VMBACKUP_S3_TIMEOUT=5 VMBACKUP_S3_ATTEMPTS=2
vmb init --chunk-size 256K > /dev/null || fail "init"
head -c 48M /dev/urandom > disk.img
osd=$(cat "$ceph_dir/run/osd.pid")
# The OSD thawed at exit, so that stop_ceph can stop it.
cleanup_fn "kill -CONT $osd 2>/dev/null || true"

"$VMBACKUP" backup --image disk=$scratch/disk.img > b1.out 2>&1 &
bpid=$!
for _ in $(seq 200); do
  "$S3CHECK" $VMBACKUP_REPO list locks/writer- 2>/dev/null | grep -q . && break
  sleep 0.05
done
kill -STOP "$osd"
start=$(date +%s)
# Bounded: every request gives up after 5 s without progress, twice.
for _ in $(seq 600); do kill -0 $bpid 2>/dev/null || break; sleep 0.5; done
if kill -0 $bpid 2>/dev/null; then
  kill $bpid
  fail "the backup still runs $(( $(date +%s) - start )) s after the OSD stopped"
fi
rc=0; wait $bpid || rc=$?
elapsed=$(( $(date +%s) - start ))
[ $rc = 1 ] || fail "backup with the OSD stopped: exit $rc: $(cat b1.out)"
[ "$(grep -c . b1.out)" = 1 ] || fail "more than one line: $(cat b1.out)"
# The request that timed out (a chunk, or the lease's heartbeat), not
# a DELETE on the way out.
grep -q "no answer from the S3 server" b1.out && ! grep -q "DELETE" b1.out ||
  fail "unclear error (not the request that timed out): $(cat b1.out)"
echo "backup failed $elapsed s after the OSD stopped: $(cat b1.out)"

kill -CONT "$osd"
# A lone OSD paused and continued may keep its placement groups "laggy"
# (every request "waiting for readable") until their interval changes,
# which happens only if the mon marked it down meanwhile (a Ceph bug:
# ceph-container#1682, tracker 80404; seen here in 1 run of 5, stuck
# for minutes).  Marking it down makes it boot again and peer, as an
# admin would restart it.  "Back" is when the cluster serves again.
ceph_admin osd down 0 > /dev/null 2>&1 || true
wait_s3_serving vmb
[ -z "$(vmb list disk | tail -n +2)" ] || fail "a partial backup is listed"
unset VMBACKUP_S3_TIMEOUT VMBACKUP_S3_ATTEMPTS
# Its placement groups may still be peering (a CI run saw the key slot's
# GET time out after the probe had worked): a few tries, 10 s apart.
ok=
for _ in 1 2 3 4; do
  if vmb backup --image disk=$scratch/disk.img > b2.out 2>&1; then ok=1; break; fi
  grep -q "Timeout was reached" b2.out || break
  sleep 10
done
[ -n "$ok" ] || { ceph_logs_tail; fail "backup with the OSD back: $(cat b2.out)"; }
id=$(last_id disk)
vmb restore "$id" --to r.img > /dev/null || fail "restore"
cmp disk.img r.img || fail "restored differs"
echo ok
