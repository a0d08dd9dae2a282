#!/usr/bin/env bash
# The OSD stopped in the middle of a backup: radosgw takes requests but
# cannot answer them.  The backup fails with one clear line once
# VMBACKUP_S3_TIMEOUT passes without progress, never hangs, and leaves
# nothing visible; with the OSD back, the next backup succeeds and
# restores identical; a restore under way when the OSD stops fails as
# a single request would.
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

# fails_under_stopped_osd PID WHAT OUT: stop the OSD under PID and wait
# for it to end (a hang fails the test); it must exit 1 with one line in
# OUT.  Sets $elapsed, the seconds it took after the stop.
fails_under_stopped_osd ()
{
  local pid=$1 what=$2 out=$3 start rc=0
  kill -STOP "$osd"
  start=$(date +%s)
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    fail "the $what still runs $(( $(date +%s) - start )) s after the OSD stopped"
  fi
  wait "$pid" || rc=$?
  elapsed=$(( $(date +%s) - start ))
  [ $rc = 1 ] || fail "$what with the OSD stopped: exit $rc: $(cat "$out")"
  [ "$(grep -c . "$out")" = 1 ] || fail "$what: more than one line: $(cat "$out")"
}

"$VMBACKUP" backup --image disk=$scratch/disk.img > b1.out 2>&1 &
bpid=$!
for _ in $(seq 200); do
  "$S3CHECK" $VMBACKUP_REPO list locks/writer- 2>/dev/null | grep -q . && break
  sleep 0.05
done
# Bounded: every request gives up after 5 s without progress, twice.
fails_under_stopped_osd $bpid backup b1.out
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

# The OSD stopped under a restore, whose chunks are fetched ahead
# (s3_prefetch.h): it fails with one line once a request times out,
# within the span of one request, give or take a backoff.
# Paced to 8 MiB/s, so that it is under way when the OSD stops.
export VMBACKUP_S3_TIMEOUT=5 VMBACKUP_S3_ATTEMPTS=2
"$VMBACKUP" restore "$id" --to r2.img --bandwidth 8 > r2.out 2>&1 &
rpid=$!
for _ in $(seq 200); do [ -e .r2.img.vmbackup-partial ] && break; sleep 0.05; done
[ -e .r2.img.vmbackup-partial ] || fail "the restore did not start: $(cat r2.out)"
sleep 0.5
fails_under_stopped_osd $rpid restore r2.out
kill -CONT "$osd"
grep -q "no answer from the S3 server" r2.out || fail "restore: unclear error: $(cat r2.out)"
[ ! -e r2.img ] || fail "the failed restore left r2.img"
echo "restore failed $elapsed s after the OSD stopped: $(cat r2.out)"
# A request gives up after 5 s without progress, twice, with a backoff
# between: 5 to 11 s here.  (A chunk_get that asked again after its
# fetch ahead had failed took 16 s; too close to tell apart in a test.)
[ $elapsed -le 30 ] || fail "the restore took $elapsed s to fail"
echo ok
