#!/usr/bin/env bash
# A guest is never left frozen or with our backup job running: vmbackup
# killed between freeze and thaw, its backup job started (SIGKILL, then
# SIGTERM), leaves the guest thawed and answering, no job and no job
# directory behind, and no backup listed.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

define_guest kf
start_guest kf
wait_agent kf

freeze_status () { agent_cmd kf '{"execute":"guest-fsfreeze-status"}'; }
# The job's directory (NBD socket, scratch) goes under TMPDIR.
mkdir -m 711 "$scratch/jobs"
export TMPDIR=$scratch/jobs

for sig in KILL TERM; do
  # SIGTERM waits for the thaw (it is held while the guest is frozen), so
  # its hold is short; SIGKILL cannot wait and the guardian thaws.
  hold=60; [ $sig = TERM ] && hold=3
  VMBACKUP_TEST_HOLD_FROZEN=$hold "$VMBACKUP" backup kf > "hold.$sig.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    grep -q "test hold: guest frozen" "hold.$sig.out" && break
    kill -0 $pid 2>/dev/null || { cat "hold.$sig.out"; fail "backup ended before the hold"; }
    sleep 0.1
  done
  freeze_status | grep -q '"frozen"' || fail "guest not frozen during the hold"
  kill -$sig $pid
  rc=0; wait $pid 2>/dev/null || rc=$?
  [ $rc -ne 0 ] || fail "SIG$sig: backup completed instead of stopping"
  # The guardian (SIGKILL) or vmbackup itself (SIGTERM) thaws at once.
  for _ in $(seq 1 100); do
    freeze_status | grep -q '"thawed"' && break
    sleep 0.1
  done
  freeze_status | grep -q '"thawed"' || fail "SIG$sig: guest left frozen"
  guest_exec kf "echo after-$sig > /data/after && cat /data/after" | grep -q "after-$sig" \
    || fail "SIG$sig: guest cannot write after the kill"
  for _ in $(seq 1 50); do
    vsh domjobinfo kf 2>/dev/null | grep -q "Job type: *None" && break
    sleep 0.1
  done
  vsh domjobinfo kf | grep -q "Job type: *None" || fail "SIG$sig: backup job left running: $(vsh domjobinfo kf)"
  ls "$(guest_dir kf)" | grep -q vmbackup-scratch && fail "SIG$sig: scratch overlay left"
  for _ in $(seq 1 50); do [ -z "$(ls -A jobs)" ] && break; sleep 0.1; done
  [ -z "$(ls -A jobs)" ] || fail "SIG$sig: job directory left: $(ls -A jobs)"
  [ "$(vmb list | wc -l)" -le 1 ] || fail "SIG$sig: a killed backup is listed"
done

# And the next backup succeeds.
vmb backup kf | grep -q ": application," || fail "backup after the kills"
echo OK
