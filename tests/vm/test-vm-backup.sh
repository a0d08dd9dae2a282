#!/usr/bin/env bash
# Host backups of real guests: live while a writer runs in the guest,
# offline for a running and a paused VM (put back exactly as it was, with
# the downtime recorded), a shut-off VM read directly; the restored disks
# pass fsck and hold the files written before the backup.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
requires debugfs
vm_test_begin

define_guest bk-live
define_guest bk-off --no-agent --two-disks
start_guest bk-live
start_guest bk-off
wait_agent bk-live
wait_console bk-off 'vmb-init: ready'

# Files written before the backup, and a writer that keeps writing.
guest_exec bk-live 'dd if=/dev/urandom of=/data/before bs=1k count=2000 2>/dev/null; sync; sha256sum /data/before' \
  | cut -d' ' -f1 > before.sha
guest_exec bk-live 'sh -c "i=0; while :; do echo line \$i >> /data/writer; i=\$((i+1)); done" </dev/null >/dev/null 2>&1 &'

guest_exec bk-live 'i=0; while [ ! -s /data/writer ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; [ -s /data/writer ]' \
  || fail "the writer in the guest did not start"

# --- live, application-consistent
vmb backup bk-live > live.out || fail "live backup: $(cat live.out)"
grep -q "^backup bk-live/.*: application," live.out || fail "not live: $(cat live.out)"
[ "$(vsh domstate bk-live)" = running ] || fail "VM not running after live backup"
agent_cmd bk-live '{"execute":"guest-fsfreeze-status"}' | grep -q thawed || fail "guest left frozen"
ls "$(guest_dir bk-live)" | grep -q vmbackup-scratch && fail "scratch overlay left beside the disk"
vmb restore bk-live --disk vda --to live.raw --format raw >/dev/null
fsck.ext4 -n -f live.raw > fsck.out 2>&1 || { cat fsck.out; fail "restored live disk not clean"; }
debugfs -R "cat /before" live.raw 2>/dev/null | sha256sum | cut -d' ' -f1 > restored.sha
cmp -s before.sha restored.sha || fail "file written before the backup differs after restore"
debugfs -R "cat /writer" live.raw > writer.txt 2>/dev/null
[ "$(head -1 writer.txt)" = "line 0" ] || fail "writer's file missing"
# Every line of the writer's file that the backup holds is whole: the
# freeze flushed it at a line boundary's worth of consistency.
tail -n +2 writer.txt | awk -v n=1 '$0 != "line " n {exit 1} {n++}' \
  || fail "writer's file in the backup is torn: $(tail -2 writer.txt)"
vmb list --json | python3 -c '
import json, sys
b = [x for x in json.load(sys.stdin) if x["name"] == "bk-live"][-1]
assert b["consistency"] == "application" and b["kind"] == "vm", b
assert [d["name"] for d in b["disks"]] == ["vda"], b' || fail "live backup manifest"

# --- offline, running VM: suspended for the copy, then running again
vmb backup --consistency offline bk-live > off.out || fail "offline: $(cat off.out)"
grep -qE "offline, .* downtime [0-9]+ ms" off.out || fail "no downtime: $(cat off.out)"
[ "$(vsh domstate bk-live)" = running ] || fail "running VM not resumed"
ms=$(vmb list --json | python3 -c 'import json,sys; print([x for x in json.load(sys.stdin) if x["name"]=="bk-live"][-1]["downtime_ms"])')
[ "$ms" -gt 0 ] && [ "$ms" -lt 10000 ] || fail "recorded downtime $ms ms"
echo "offline backup downtime: $ms ms"

# --- auto on a guest without agent: offline; a paused VM stays paused
vmb backup bk-off > noagent.out || fail "no-agent backup: $(cat noagent.out)"
grep -q ": offline, .* 2 disks" noagent.out || fail "no-agent: $(cat noagent.out)"
vsh suspend bk-off >/dev/null
vmb backup bk-off > paused.out || fail "paused backup: $(cat paused.out)"
[ "$(vsh domstate bk-off)" = paused ] || fail "paused VM was not left paused"
vsh resume bk-off >/dev/null

# --- application on a guest that cannot freeze: refused, nothing stored
n=$(vmb list | wc -l)
expect_fail 1 "^vmbackup: backup bk-off: VM bk-off: a live application-consistent backup is not possible: guest agent" \
  vmb backup --consistency application bk-off
[ "$(vmb list | wc -l)" = "$n" ] || fail "a refused backup was stored"

# --- shut off: read directly
vsh destroy bk-off >/dev/null
vmb backup bk-off > shutoff.out || fail "shut-off backup: $(cat shutoff.out)"
grep -q ": offline, .* 2 disks" shutoff.out || fail "shut off: $(cat shutoff.out)"
vmb restore bk-off --disk vdb --to vdb.raw --format raw >/dev/null
fsck.ext4 -n -f vdb.raw >/dev/null 2>&1 || fail "shut-off vdb not clean"

# --- several VMs: one failing does not stop the others
expect_fail 1 "backup no-such-vm: VM no-such-vm: no such VM" vmb backup no-such-vm bk-live
grep -q "1 of 2 backups succeeded" "$scratch/out" || fail "summary: $(cat "$scratch/out")"

# --- a VM whose disk file vanished (shut off): clean error, repo untouched
vsh dumpxml --inactive bk-off > bk-off.xml
sed "s|$(guest_dir bk-off)/vdb.qcow2|$scratch/vanished.qcow2|" bk-off.xml > gone.xml
vsh define gone.xml >/dev/null
n=$(vmb list | wc -l)
expect_fail 1 "disk vdb: .*vanished.qcow2: No such file" vmb backup bk-off
[ "$(vmb list | wc -l)" = "$n" ] || fail "failed backup listed"

# --- a VM with no disk the host can read: clean error, nothing stored
cat > nodisk.xml <<XML
<domain type='qemu'><name>bk-nodisk</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os><devices></devices></domain>
XML
vsh define nodisk.xml >/dev/null
cleanup_fn "vsh undefine bk-nodisk >/dev/null 2>&1"
n=$(vmb list | wc -l)
expect_fail 1 "^vmbackup: backup bk-nodisk: VM bk-nodisk has no disk the host can back up$" vmb backup bk-nodisk
[ "$(vmb list | wc -l)" = "$n" ] || fail "diskless backup listed"

# --- libvirt unreachable: clean error
expect_fail 1 "^vmbackup: cannot connect to libvirt at qemu\+unix:///system\?socket=/nonexistent" \
  vmb -c 'qemu+unix:///system?socket=/nonexistent' backup bk-live

# --- repository not initialised: clean error
expect_fail 1 "not a vmbackup repository" vmb --repo "$scratch/norepo" backup bk-live

vmb verify > verify.out || { cat verify.out; fail "verify"; }
echo OK
