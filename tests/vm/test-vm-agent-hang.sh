#!/usr/bin/env bash
# A guest agent that hangs does not hang the backup: its calls time out,
# the backup falls back to offline with event 1020, and the VM is running
# afterwards.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

define_guest hang
start_guest hang
wait_agent hang
# Stop qemu-ga inside the guest: it keeps its channel open but answers
# nothing, the way a wedged agent does.
agent_cmd hang '{"execute":"guest-exec","arguments":{"path":"/bin/sh","arg":["-c","sleep 1; kill -STOP $(pidof qemu-ga)"]}}' >/dev/null
sleep 3
vsh qemu-agent-command --timeout 2 hang '{"execute":"guest-ping"}' >/dev/null 2>&1 \
  && fail "the agent still answers"

start=$(date +%s)
vmb backup hang > backup.out 2>&1 || fail "backup with a hung agent: $(cat backup.out)"
took=$(( $(date +%s) - start ))
grep -q ": offline, " backup.out || fail "not offline: $(cat backup.out)"
[ "$took" -lt 60 ] || fail "backup took $took s with a hung agent"
[ "$(vsh domstate hang)" = running ] || fail "VM not running after the backup"
vmb events hang > events.out
grep -qE "warning +1020 hang +no answer to guest-ping: .*: offline backup" events.out \
  || fail "no event 1020: $(cat events.out)"
grep -qE "info +1030 hang " events.out || fail "no downtime event: $(cat events.out)"
echo "backup with a hung agent took $took s"
echo OK
