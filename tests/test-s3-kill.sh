#!/usr/bin/env bash
# radosgw killed in the middle of a backup: restarted soon, the backup
# rides it out by retrying (or fails cleanly); gone for good, the backup
# fails with one line in bounded time.  Either way no partial backup is
# ever visible, and the next backup succeeds and restores identical.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires qemu-nbd
start_ceph_repo s3://vmb/kill
export VMBACKUP_S3_LEASE=6
vmb init --chunk-size 256K > /dev/null || fail "init"
head -c 48M /dev/urandom > disk.img

# Start a backup and return once it holds its lease (it is storing).
backup_started ()
{
  "$VMBACKUP" backup --image disk=$scratch/disk.img > "$1" 2>&1 &
  bpid=$!
  for _ in $(seq 200); do
    "$S3CHECK" $VMBACKUP_REPO list locks/writer- 2>/dev/null | grep -q . && return
    sleep 0.05
  done
  fail "the backup never took its lease: $(cat "$1")"
}

# Only whole backups are listed, and each restores identical.
check_whole ()
{
  local id
  for id in $(vmb list disk | awk 'NR > 1 {print $1}'); do
    rm -f check.img
    vmb restore "$id" --to check.img > /dev/null || fail "restore $id"
    cmp disk.img check.img || fail "backup $id is not whole"
  done
}

# 1. radosgw restarted within the retries.
backup_started b1.out
stop_rgw
sleep 2
start_rgw
rc=0; wait $bpid || rc=$?
if [ $rc = 0 ]; then
  grep -q "^backup disk/" b1.out || fail "backup across a restart: $(cat b1.out)"
else
  [ "$(grep -c . b1.out)" = 1 ] || fail "more than one line: $(cat b1.out)"
fi
check_whole

# 2. radosgw gone for good: one line, in bounded time, nothing visible.
before=$(vmb list disk | wc -l)
start=$(date +%s)
backup_started b2.out
stop_rgw
rc=0; wait $bpid || rc=$?
took=$(( $(date +%s) - start ))
[ $rc != 0 ] || fail "a backup with radosgw gone succeeded: $(cat b2.out)"
# Which error comes first is a race: a request that cannot connect,
# or the lease that could not be renewed meanwhile. Each names the cause.
grep -qE "^vmbackup: .*(Couldn.t connect to server|Connection refused|Timeout|S3 server was unreachable)" b2.out ||
  fail "backup with radosgw gone: $(cat b2.out)"
[ "$(grep -c . b2.out)" = 1 ] || fail "more than one line: $(cat b2.out)"
[ $took -le 120 ] || fail "the backup took $took s to give up"
start_rgw
[ "$(vmb list disk | wc -l)" = "$before" ] || fail "a partial backup is visible: $(vmb list disk)"

# The next backup succeeds; gc gets past the dead backup's lease and
# deletes what it left behind; everything restores identical.
vmb backup --image disk=$scratch/disk.img > b3.out || fail "backup after the faults: $(cat b3.out)"
vmb gc > gc.out || fail "gc: $(cat gc.out)"
check_whole
vmb verify > verify.out || fail "verify: $(cat verify.out)"
echo OK
