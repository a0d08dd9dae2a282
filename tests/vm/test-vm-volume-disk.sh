#!/usr/bin/env bash
# A VM whose disk is a storage pool volume (<disk type='volume'>: named
# by pool and volume, not by path): backed up
# shut off (read at the volume's path) and running (live, its overlay
# beside the volume's file), restored with --replace into the volume,
# the VM still naming it by pool and volume; a volume whose pool is
# stopped is named.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

define_guest vol --volume
path=$(guest_dir vol)/vda.qcow2
sum () { guest_exec vol "sha256sum /data/$1 2>/dev/null | cut -d' ' -f1"; }

# --- shut off: read at the volume's path
vmb plan vol --json > plan.json || fail "plan vol failed"
python3 - "$path" plan.json <<'PY' || fail "plan: $(cat plan.json)"
import json, sys
path, plan = sys.argv[1], json.load(open(sys.argv[2]))
vm = plan[0] if isinstance(plan, list) else plan
d = [d for d in vm["disks"] if d["target"] == "vda"][0]
assert d["included"] and d["source"] == path and d["type"] == "file", d
PY
vmb backup vol > off.out 2>&1 || fail "shut-off backup: $(cat off.out)"
vmb restore vol --disk vda --to off.qcow2 >/dev/null || fail "restore the shut-off backup's disk"
qemu-img compare -q off.qcow2 "$path" || fail "the shut-off backup differs from the volume"

# --- running: live, the overlay beside the volume's file
start_guest vol
wait_agent vol
guest_exec vol 'dd if=/dev/urandom of=/data/f1 bs=1k count=4000 2>/dev/null; sync'
at_backup=$(sum f1)
vmb backup vol > live.out 2>&1 || fail "live backup: $(cat live.out)"
grep -q ": application," live.out || fail "not a live backup: $(cat live.out)"
guest_exec vol 'rm /data/f1; sync'

# --- --replace: back into the volume, still named by pool and volume
vmb restore vol --replace > replace.out 2>&1 || fail "restore --replace: $(cat replace.out)"
vsh dumpxml vol | grep -q "<source pool='vmbt-vol' volume='vda.qcow2'" ||
  fail "the restored VM no longer names its volume: $(vsh dumpxml vol | grep -A2 '<disk')"
[ "$(vsh domstate vol)" = running ] || fail "the replaced VM ran; the restored one is $(vsh domstate vol)"
wait_agent vol
[ "$(sum f1)" = "$at_backup" ] || fail "--replace: f1 is not as at backup time"
vsh destroy vol >/dev/null

# --- the pool is stopped: the volume cannot be found, and says so
vsh pool-destroy vmbt-vol >/dev/null
expect_fail 1 "disk vda: storage volume vmbt-vol/vda.qcow2 not found \\(is its pool active\\?\\)" \
  vmb backup vol
echo OK
