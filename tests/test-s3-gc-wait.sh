#!/usr/bin/env bash
# gc on S3 waits for running backups without stopping new ones: while a
# backup runs (here: stopped with SIGSTOP, well within its lease), gc
# says it waits, holds only its "gcwait" lease, and another backup
# starts and finishes meanwhile; a second gc is refused.  Once the
# stopped backup goes on and ends, gc does its work.  With its patience
# spent ($VMBACKUP_S3_GC_PATIENCE), gc holds its "gc" lease while it
# waits, and a backup that starts then says it waits for gc and ends
# after it.  Every backup restores byte-identical afterwards.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires qemu-nbd
start_ceph_repo s3://vmb/gcwait
# Long enough that a backup stopped for the test keeps its lease (lost
# after 3/4 of it), short enough that a test that fails does not hang.
export VMBACKUP_S3_LEASE=40
vmb init --chunk-size 256K > /dev/null || fail "init"

leases () { "$S3CHECK" $VMBACKUP_REPO list "locks/$1-" | wc -l; }
has_lease () { [ "$(leases "$1")" -ge 1 ]; }

# wait_for COUNT COMMAND...: up to COUNT tenths of a second for COMMAND.
wait_for ()
{
  local n=$1 i
  shift
  for i in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}

# stopped_backup NAME: a backup of a fresh 40 MiB image, stopped once
# its lease is written; its pid in $stopped.
stopped_backup ()
{
  head -c 40M /dev/urandom > "$1.img"
  "$VMBACKUP" backup --image "$1=$scratch/$1.img" > "$1.out" 2>&1 &
  stopped=$!
  cleanup_fn "kill -CONT $stopped 2>/dev/null; kill $stopped 2>/dev/null"
  wait_for 200 has_lease writer || fail "$1: no lease written"
  kill -STOP "$stopped"
}

# gc while a backup runs: it waits, and lets backups start.
stopped_backup slow
vmb gc > gc1.out 2>&1 &
gcpid=$!
cleanup_fn "kill $gcpid 2>/dev/null"
wait_for 300 grep -q "gc: waiting for 1 running backup to finish (backups may still start meanwhile)" gc1.out ||
  fail "gc did not say it waits: $(cat gc1.out)"
[ "$(leases gcwait)" = 1 ] || fail "a waiting gc holds no gcwait lease"
[ "$(leases gc)" = 0 ] || fail "a waiting gc holds a gc lease, which stops backups"
head -c 6M /dev/urandom > quick.img
timeout 60 "$VMBACKUP" backup --image quick=$scratch/quick.img > quick.out 2>&1 ||
  fail "a backup started while gc waited did not finish: $(cat quick.out)"
! grep -q "waiting for a gc" quick.out || fail "the backup waited for a gc that only waited: $(cat quick.out)"
kill -0 $gcpid 2>/dev/null || fail "gc did not wait for the stopped backup: $(cat gc1.out)"
expect_fail 1 "another gc is running" "$VMBACKUP" gc
kill -CONT "$stopped"
wait "$stopped" || fail "the backup gc waited for failed: $(cat slow.out)"
wait $gcpid || fail "gc after the backups: $(cat gc1.out)"
[ "$(leases gcwait)" = 0 ] && [ "$(leases gc)" = 0 ] && [ "$(leases writer)" = 0 ] ||
  fail "leases left behind: $("$S3CHECK" $VMBACKUP_REPO list locks/)"

# Patience spent: gc holds its lease, and a new backup waits for it.
stopped_backup slow2
VMBACKUP_S3_GC_PATIENCE=1 vmb gc > gc2.out 2>&1 &
gcpid=$!
cleanup_fn "kill $gcpid 2>/dev/null"
wait_for 300 grep -q "gc: waiting for 1 running backup to finish (backups that start now wait for gc)" gc2.out ||
  fail "gc out of patience did not say so: $(cat gc2.out)"
[ "$(leases gc)" = 1 ] || fail "gc out of patience holds no gc lease"
head -c 6M /dev/urandom > late.img
"$VMBACKUP" backup --image late=$scratch/late.img > late.out 2>&1 &
latepid=$!
cleanup_fn "kill $latepid 2>/dev/null"
wait_for 300 grep -q "waiting for a gc to finish deleting unused chunks" late.out ||
  fail "a backup started during gc did not say it waits: $(cat late.out)"
sleep 2
kill -0 $latepid 2>/dev/null || fail "the backup did not wait for gc: $(cat late.out)"
[ "$(vmb list late | wc -l)" = 0 ] || fail "a backup committed while gc held the repository"
kill -CONT "$stopped"
wait "$stopped" || fail "the backup gc waited for failed: $(cat slow2.out)"
wait $gcpid || fail "gc: $(cat gc2.out)"
wait $latepid || fail "the backup that waited for gc: $(cat late.out)"

# Every backup is whole.
for name in slow quick slow2 late; do
  vmb restore "$name" --to "r.$name.img" > /dev/null || fail "restore $name"
  cmp "$name.img" "r.$name.img" || fail "$name restored differs"
done
vmb verify > verify.out || fail "verify: $(cat verify.out)"
expect_fail 1 "VMBACKUP_S3_GC_PATIENCE: not a number" env VMBACKUP_S3_GC_PATIENCE=soon "$VMBACKUP" gc
echo OK
