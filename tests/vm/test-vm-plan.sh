#!/usr/bin/env bash
# plan gives, for each guest variant, the decision and the reason it
# promises (DESIGN's live conditions), and names excluded disks.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
requires_vm
start_libvirt
build_guest
cd "$scratch"

define_guest pl-agent
define_guest pl-noagent --no-agent
define_guest pl-nofreeze --nofreeze
define_guest pl-vfat --vfat
for g in pl-agent pl-noagent pl-nofreeze pl-vfat; do start_guest $g; done
for g in pl-agent pl-nofreeze pl-vfat; do wait_agent $g; done
wait_console pl-noagent 'vmb-init: ready'

plan_json () { vmb plan --json "$@"; }
field () { python3 -c "import json,sys; p=json.load(sys.stdin)[0]; print($1)"; }

# Agent running, ext4 only: live, every check passes.
plan_json pl-agent > agent.json
[ "$(field 'p["mode"]' < agent.json)" = live ] || fail "agent guest: $(cat agent.json)"
[ "$(field 'all(c["ok"] for c in p["checks"])' < agent.json)" = True ] || fail "checks"
[ "$(field '[f["type"] for f in p["filesystems"] if f["mountpoint"]=="/data"][0]' < agent.json)" = ext4 ] \
  || fail "fsinfo: $(cat agent.json)"
vmb plan pl-agent | grep -q "backup: live" || fail "text plan: $(vmb plan pl-agent)"

# No agent: offline, the agent check names why.
plan_json pl-noagent > noagent.json
[ "$(field 'p["mode"]' < noagent.json)" = offline ] || fail "no-agent: $(cat noagent.json)"
field 'p["reason"]' < noagent.json | grep -q "^guest agent: no answer to guest-ping" \
  || fail "no-agent reason: $(field 'p["reason"]' < noagent.json)"

# Agent with freezing blocked: offline, named.
plan_json pl-nofreeze > nofreeze.json
field 'p["reason"]' < nofreeze.json | grep -q "guest-fsfreeze-freeze is disabled" \
  || fail "nofreeze reason: $(field 'p["reason"]' < nofreeze.json)"

# A vfat filesystem: offline, the mount named.
plan_json pl-vfat > vfat.json
field 'p["reason"]' < vfat.json | grep -q "/vfat is vfat, which cannot be frozen" \
  || fail "vfat reason: $(field 'p["reason"]' < vfat.json)"

# Paused and shut-off VMs are offline with the state named.
vsh suspend pl-agent >/dev/null
vmb plan pl-agent | grep -q "offline (the VM is paused" || fail "paused: $(vmb plan pl-agent)"
vsh resume pl-agent >/dev/null
vsh destroy pl-noagent >/dev/null
vmb plan pl-noagent | grep -q "offline (the VM is shut off: its disks are read directly)" \
  || fail "shut off: $(vmb plan pl-noagent)"

# Disks the host cannot read: a pass-through LUN and a shareable disk
# added to a shut-off guest's definition are excluded with the reason.
dir=$(guest_dir pl-noagent)
qemu-img create -q -f raw "$dir/shared.img" 16M
python3 - "$dir" <<'PY'
import subprocess, sys
d = sys.argv[1]
xml = subprocess.check_output(["virsh", "-q", "-c", "qemu:///system", "dumpxml", "--inactive", "pl-noagent"], text=True)
extra = (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{d}/shared.img'/>"
         "<target dev='vdx' bus='virtio'/><shareable/></disk>"
         "<disk type='block' device='lun'><driver name='qemu' type='raw'/><source dev='/dev/null'/>"
         "<target dev='sdz' bus='scsi'/></disk>")
xml = xml.replace("</devices>", extra + "</devices>")
open(d + "/with-excluded.xml", "w").write(xml)
PY
vsh define "$dir/with-excluded.xml" >/dev/null
vmb plan pl-noagent > excl.out
grep -q "disk vdx *EXCLUDED  shared disk" excl.out || fail "shareable: $(cat excl.out)"
grep -q "disk sdz *EXCLUDED  pass-through LUN" excl.out || fail "lun: $(cat excl.out)"
grep -q "disk vda *included" excl.out || fail "vda: $(cat excl.out)"

# Unknown VM and unreachable libvirt: one line, exit 1.
expect_fail 1 "^vmbackup: VM no-such-vm: no such VM$" vmb plan no-such-vm
expect_fail 1 "^vmbackup: cannot connect to libvirt" vmb -c qemu+unix:///system?socket=/nonexistent plan pl-agent
echo OK
