#!/usr/bin/env bash
# restore --instant: the VM runs at once from its (encrypted) backup,
# served over NBD, on local qcow2 overlays; its disks are copied in the
# background (a restore of the disk, paced under --bandwidth, writes
# the backup into the disk's own path; a shallow
# block copy adds the guest's writes; then a pivot) and the export stops.
#
#   - the guest reads its backed-up data through the export and what it
#     writes meanwhile stays; --instant-status shows the copy; once it is
#     done the VM's definition has no backing, no nbdkit is left, the run
#     directory is gone, and event 6202 says so;
#   - the keeper killed (-9) mid-copy, or its nbdkit: the VM keeps
#     running and keeps its writes, status says "stopped", and running
#     the same restore again resumes (6203) and finishes the copy; a
#     fill killed with its keeper goes on from its record (2003);
#   - bad input: over an existing VM without --replace, options that do
#     not go with --instant, an image backup: one line, nothing made;
#     --replace over the original works.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin
# Run directories (and the NBD sockets) where QEMU can reach them.
export VMBACKUP_RUN_DIR=$scratch/run
run_base=$VMBACKUP_RUN_DIR

instant_vms () { vsh list --all --name | grep -E '^i1(-i[abc])?$' || true; }
cleanup_fn 'for v in $(instant_vms); do destroy_guest "$v"; done'
nbdkits () { pgrep -af "^nbdkit .*$run_base/instant-" || true; }

define_guest i1
start_guest i1
wait_agent i1
guest_exec i1 'echo backed-up > /data/f && dd if=/dev/urandom of=/data/big bs=1048576 count=24 2>/dev/null && sync' \
  || fail "write test data in i1"
sum=$(guest_exec i1 'md5sum < /data/big') || fail "md5sum in i1"
vmb backup i1 >/dev/null
id=$(last_id i1)
vsh destroy i1 >/dev/null

# Whether the event log has a line matching the pattern (not through a
# pipe into grep -q: its early exit would fail the pipeline).
has_event () { local ev; ev=$(vmb events); grep -qE "$1" <<< "$ev"; }
# status: the instant restores in progress, each a block of lines
status () { vmb restore --instant-status; }
wait_copied ()
{
  for _ in $(seq 600); do
    ! status | grep -q "^VM $1 " && return 0
    sleep 0.5
  done
  fail "$1: the copy did not finish: $(status)
$(vmb events | tail -4)
$(tail -5 "$run_base/instant-$1/export.log" 2>/dev/null)"
}
guest_has ()
{
  [ "$(guest_exec "$1" 'cat /data/f')" = backed-up ] || fail "$1: /data/f"
  [ "$(guest_exec "$1" 'md5sum < /data/big')" = "$sum" ] || fail "$1: /data/big differs"
}
no_backing ()
{
  ! vsh dumpxml "$1" | grep -q "protocol='nbd'" || fail "$1: still backed by the export (live)"
  ! vsh dumpxml --inactive "$1" | grep -q "protocol='nbd'" \
    || fail "$1: still backed by the export (definition)"
  [ ! -e "$run_base/instant-$1" ] || fail "$1: run directory left: $(ls "$run_base/instant-$1")"
  [ -z "$(nbdkits)" ] || fail "$1: nbdkit left: $(nbdkits)"
  # On its copy, at the disk's own path, in the backup's format (qcow2),
  # standing alone; the overlay beside it is gone.
  local src
  src=$(vsh domblklist "$1" --details | awk '$3 == "vda" { print $4 }')
  [ -f "$src" ] || fail "$1: vda is not a file: '$src'"
  case $src in *.vmbackup-instant) fail "$1: still on its overlay $src" ;; esac
  [ ! -e "$src.vmbackup-instant" ] || fail "$1: overlay left: $src.vmbackup-instant"
  qemu-img info -U --output=json "$src" > info.json
  grep -q '"format": "qcow2"' info.json || fail "$1: $src: $(cat info.json)"
  ! grep -q backing info.json || fail "$1: $src has a backing file"
  has_event "info +6207 +$1 " || fail "$1: no event 6207"
  has_event "info +6206 +$1 " || fail "$1: no event 6206"
}

# --- bad input: one line, nothing made
expect_fail 1 "VM i1 exists" vmb restore "$id" --instant
expect_fail 2 "--instant restores a whole VM" vmb restore "$id" --instant --to x.img
expect_fail 2 "--bandwidth goes with --instant" vmb restore "$id" --as x --bandwidth 5
expect_fail 1 "no backup named nosuch" vmb restore nosuch --instant
truncate -s 1M img.raw
vmb backup --image img=img.raw >/dev/null
expect_fail 2 "is a disk image" vmb restore img --instant
[ -z "$(ls -A "$run_base" 2>/dev/null | grep instant)" ] || fail "bad input left a run directory"

# --- a good one, beside the original
vmb restore "$id" --instant --as i1-ia > ia.out || fail "instant restore: $(cat ia.out)"
grep -q "^VM i1-ia runs from backup $id in [0-9.]* s: 1 disk is copied in the background" ia.out \
  || fail "instant restore said: $(cat ia.out)"
_vm_start_time[i1-ia]=$(date +%s.%N)
wait_agent i1-ia
echo "instant restore: agent answered ${vm_ping_seconds} s after the command returned"
guest_exec i1-ia 'echo written-meanwhile > /data/new && sync' || fail "write in i1-ia"
guest_has i1-ia
wait_copied i1-ia
no_backing i1-ia
guest_has i1-ia
[ "$(guest_exec i1-ia 'cat /data/new')" = written-meanwhile ] || fail "i1-ia lost its write"
has_event "info +6202 +i1-ia" || fail "no event 6202: $(vmb events | tail -5)"
vsh destroy i1-ia >/dev/null
# Stands alone: the definition boots without the repository, and what
# the guest wrote during the copy is on the disk, not only in its cache.
start_guest i1-ia
wait_agent i1-ia
guest_has i1-ia
[ "$(guest_exec i1-ia 'cat /data/new')" = written-meanwhile ] \
  || fail "i1-ia's write during the copy is not on its disk"
destroy_guest i1-ia

# --- killed mid-copy: the keeper, then an nbdkit; each time the same
# command resumes.  --bandwidth 1 keeps the copy going long enough.
vmb restore "$id" --instant --as i1-ib --bandwidth 1 > ib.out || fail "instant: $(cat ib.out)"
wait_agent i1-ib
guest_exec i1-ib 'echo before-kill > /data/w && sync' || fail "write in i1-ib"
for _ in $(seq 100); do status | grep -qE "^  vda: [0-9]+%" && break; sleep 0.2; done
status | grep -q "^VM i1-ib from $id: copying" || fail "status: $(status)"
# The copy itself stopped (the fill, a paced restore of the disk into
# the new image, killed): started again, going on from its record.
fills () { pgrep -f -- "--event-log $run_base/instant-$1/fill-.* restore " || true; }
[ -n "$(fills i1-ib)" ] || fail "no restore fills i1-ib's disk: $(status)"
fill_record () { cat "$scratch"/vm-i1/.i1-ib-*.vmbackup-partial.progress 2>/dev/null || true; }
for _ in $(seq 100); do [ "$(fill_record | awk '{print $6}')" -gt 0 ] 2>/dev/null && break; sleep 0.2; done
pkill -9 -f -- "--event-log $run_base/instant-i1-ib/fill-.* restore "
for _ in $(seq 100); do
  has_event "info +2003 +i1-ib .*disk vda: goes on from chunk [1-9]" && break
  sleep 0.2
done
has_event "warning +6205 +i1-ib" || fail "an aborted copy was not started again"
has_event "info +2003 +i1-ib .*disk vda: goes on from chunk [1-9]" ||
  fail "the paced fill started again from nothing: $(vmb events | tail -4)"
keeper=$(head -1 "$run_base/instant-i1-ib/keeper.pid")
kill -9 "$keeper"
# nbdkit gets SIGTERM at once, SIGKILL from its keeper 2 s later (it
# was 10 s, seen taking about 20 s under load: a chain of two such
# keepers); 40 s is room enough.
t0=$SECONDS
for _ in $(seq 400); do [ -z "$(nbdkits)" ] && break; sleep 0.1; done
echo "nbdkit gone $((SECONDS - t0)) s after its keeper was killed"
[ -z "$(nbdkits)" ] || { ps -eo pid,ppid,stat,wchan:20,args --forest > /tmp/psdump; fail "nbdkit outlived its keeper: $(nbdkits)"; }
status | grep -q "^VM i1-ib from $id: stopped: run the same" || fail "status after kill: $(status)"
# Its fill went with it.
for _ in $(seq 50); do [ -z "$(fills i1-ib)" ] && break; sleep 0.1; done
[ -z "$(fills i1-ib)" ] || fail "the fill outlived its keeper: $(fills i1-ib)"
[ "$(vsh domstate i1-ib)" = running ] || fail "i1-ib stopped with its keeper"
vmb restore "$id" --instant --as i1-ib --bandwidth 1 > resume.out \
  || fail "resume: $(cat resume.out)"
grep -q "^resumed the instant restore of $id as VM i1-ib" resume.out \
  || fail "resume said: $(cat resume.out)"
has_event "warning +6203 +i1-ib" || fail "no event 6203"
guest_has i1-ib
# Now its nbdkit: the keeper notices, stops, says so (6204).
for _ in $(seq 100); do [ -n "$(nbdkits)" ] && break; sleep 0.1; done
pkill -9 -f "^nbdkit .*$run_base/instant-i1-ib/"
for _ in $(seq 100); do status | grep -q "i1-ib.*stopped" && break; sleep 0.2; done
status | grep -q "^VM i1-ib from $id: stopped" || fail "status after nbdkit kill: $(status)"
has_event "error +6204 +i1-ib" || fail "no event 6204"
# The fill (a restore of the disk, --resume) paused one chunk past
# where the paced fills above got, and its keeper killed: the fill dies
# with it, and the same command again goes on from the chunks it
# recorded (2003 in its log).
[ ! -e "$run_base/instant-i1-ib/filled-vda" ] || fail "the paced fill finished: slow it down"
at=$(( $(fill_record | awk '{print $6}') + 1 ))
echo "the paced fills wrote $((at - 1)) of $(fill_record | awk '{print $5}') chunks"
VMBACKUP_TEST_RESTORE_PAUSE_AT=$at VMBACKUP_TEST_RESTORE_PAUSE_FILE=$scratch/pause \
  vmb restore "$id" --instant --as i1-ib > resume2.out || fail "resume 2: $(cat resume2.out)"
for _ in $(seq 300); do [ "$(fill_record | awk '{print $6}')" = $at ] && break; sleep 0.1; done
[ "$(fill_record | awk '{print $6}')" = $at ] || fail "the fill recorded no progress to $at: '$(fill_record)' $(status)"
kill -9 "$(head -1 "$run_base/instant-i1-ib/keeper.pid")"
for _ in $(seq 400); do [ -z "$(nbdkits)" ] && break; sleep 0.1; done
rm -f "$scratch/pause"
# This time its pivot is held (a test hook), so the shallow copy, in
# step within a second otherwise, runs until the hold file goes.
hold=$scratch/hold-pivot
touch "$hold"
export VMBACKUP_TEST_INSTANT_HOLD_PIVOT_FILE=$hold
vmb restore "$id" --instant --as i1-ib > resume3.out || fail "resume 3: $(cat resume3.out)"
copy_job () { vsh blockjob i1-ib vda 2>&1 || true; }
for _ in $(seq 600); do has_event "info +6207 +i1-ib " && break; sleep 0.5; done
has_event "info +2003 +i1-ib .*disk vda: goes on from chunk $at of" ||
  fail "the fill did not go on from its record: $(vmb events | tail -6)"
has_event "info +6207 +i1-ib " || fail "no shallow copy after the fill: $(status)"
copy_job | grep -q "Block Copy" || fail "no copy job: $(copy_job)"
disk=$(vsh domblklist i1-ib --details | awk '$3 == "vda" { print $4 }')
disk=${disk%.vmbackup-instant}
filled_inode=$(stat -c %i "$disk") || fail "no filled image at $disk"
guest_exec i1-ib 'echo during-copy > /data/s && sync' || fail "write in i1-ib"
# The keeper killed during the shallow copy, and QEMU's job gone too
# (as when the VM's QEMU dropped it): the next keeper finds the fill's
# mark and starts only the shallow copy again, into the same image.
kill_keeper ()
{
  kill -9 "$(head -1 "$run_base/instant-i1-ib/keeper.pid")"
  for _ in $(seq 400); do [ -z "$(nbdkits)" ] && break; sleep 0.1; done
  [ -z "$(nbdkits)" ] || fail "nbdkit outlived its keeper: $(nbdkits)"
  [ "$(vsh domstate i1-ib)" = running ] || fail "i1-ib stopped with its keeper"
}
kill_keeper
copy_job | grep -q "Block Copy" || fail "QEMU's copy job went with the keeper: $(copy_job)"
vsh blockjob i1-ib vda --abort >/dev/null || fail "abort the copy job"
vmb restore "$id" --instant --as i1-ib > resume4.out || fail "resume 4: $(cat resume4.out)"
for _ in $(seq 300); do copy_job | grep -q "Block Copy" && break; sleep 0.2; done
copy_job | grep -q "Block Copy" || fail "the shallow copy did not start again: $(status)"
[ "$(stat -c %i "$disk")" = "$filled_inode" ] || fail "the disk was filled again"
# The keeper killed again, QEMU's job left running this time: the next
# keeper pivots it once it is in step.
kill_keeper
copy_job | grep -q "Block Copy" || fail "QEMU's copy job went with the keeper: $(copy_job)"
rm -f "$hold"
vmb restore "$id" --instant --as i1-ib > resume5.out || fail "resume 5: $(cat resume5.out)"
wait_copied i1-ib
no_backing i1-ib
[ "$(stat -c %i "$disk")" = "$filled_inode" ] || fail "the disk was filled again"
guest_has i1-ib
[ "$(guest_exec i1-ib 'cat /data/w')" = before-kill ] || fail "i1-ib lost its write"
[ "$(guest_exec i1-ib 'cat /data/s')" = during-copy ] || fail "i1-ib lost its write during the copy"
destroy_guest i1-ib
unset VMBACKUP_TEST_INSTANT_HOLD_PIVOT_FILE

# --- the command itself killed at several points of its start: the
# same command then starts afresh, resumes, or finds it running (the
# command had handed over to its keeper), and the VM ends up copied.
for delay in 0.05 0.15 0.3 0.6 2; do
  ( exec "$VMBACKUP" restore "$id" --instant --as i1-ic > ic.out 2>&1 ) &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if grep -q "^VM i1-ic runs from backup" ic.out; then
    # It had finished before the kill: the same command again finds it
    # running, or, the copy done, an ordinary VM it will not overwrite.
    vmb restore "$id" --instant --as i1-ic > ic2.out 2> ic2.err ||
      grep -q "VM i1-ic exists" ic2.err || fail "after it finished: $(cat ic2.out ic2.err)"
    cp ic.out ic2.out
  else
    vmb restore "$id" --instant --as i1-ic > ic2.out \
      || fail "after a kill at $delay s: $(cat ic.out ic2.out)"
  fi
  grep -qE "^(VM i1-ic runs from backup|resumed the instant restore|the instant restore of .* as VM i1-ic runs already)" ic2.out \
    || fail "after a kill at $delay s: $(cat ic2.out)"
  wait_agent i1-ic
  wait_copied i1-ic
  no_backing i1-ic
  guest_has i1-ic
  echo "killed at $delay s: $(head -c 60 ic2.out)"
  destroy_guest i1-ic
  rm -f "$scratch"/vm-i1/i1-ic-*  # the next round restores afresh
done

# --- --replace over the original (shut off)
vmb restore "$id" --instant --replace > rep.out || fail "replace: $(cat rep.out)"
wait_agent i1
guest_has i1
wait_copied i1
no_backing i1
echo OK
