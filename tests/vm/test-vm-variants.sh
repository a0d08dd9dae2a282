#!/usr/bin/env bash
# The guest variants the backup tests need all boot and look the way the
# backup code will see them:
#   --two-disks --vfat --raw  three mounted filesystems, only two freezable
#                             (vfat cannot be frozen: the live-backup check
#                             "freeze count == mounted count" must fail);
#                             the host reads what the guest wrote
#   --backing --nvram         UEFI (OVMF) with an NVRAM file, vda a qcow2
#                             overlay; internal snapshots are refused
#                             (pflash), external disk-only ones and
#                             checkpoints work; undefine removes the NVRAM
#   default                   internal snapshots running and shut off,
#                             external offline; agent and ACPI shutdown
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
start_libvirt
requires debugfs
requires mtype

json () { python3 -c "import json, sys; r = json.loads(sys.argv[1]); print($1)" "$2"; }

a=vmbtest-multi b=vmbtest-efi c=vmbtest-snap
define_guest $a --two-disks --vfat --raw
define_guest $b --backing --nvram
define_guest $c
start_guest $b                          # the slow one (OVMF) first
start_guest $a
wait_agent $a
echo "$a: boot to first guest-ping: $vm_ping_seconds s"

# --- three disks, raw, one vfat ---------------------------------------------
r=$(agent_cmd $a '{"execute":"guest-get-fsinfo"}')
[ "$(json 'sorted((f["mountpoint"], f["type"]) for f in r["return"])' "$r")" = \
  "[('/data', 'ext4'), ('/data2', 'ext4'), ('/vfat', 'vfat')]" ] ||
  fail "fsinfo of $a: $r"
r=$(agent_cmd $a '{"execute":"guest-fsfreeze-freeze"}') || fail "freeze $a"
[ "$(json 'r["return"]' "$r")" = 2 ] || fail "$a froze $r filesystems, expected 2 of 3"
agent_cmd $a '{"execute":"guest-fsfreeze-thaw"}' >/dev/null || fail "thaw $a"
guest_exec $a 'echo data2 > /data2/h.txt; echo vfat > /vfat/h.txt; sync' ||
  fail "writing in $a"
da=$(guest_dir $a)
[ "$(debugfs -R 'cat /h.txt' "$da/vdb.raw" 2>/dev/null)" = data2 ] ||
  fail "the host does not see /data2/h.txt in vdb.raw"
[ "$(MTOOLS_SKIP_CHECK=1 mtype -i "$da/vfat.raw" ::/h.txt | tr -d '\r')" = vfat ] ||
  fail "the host does not see /vfat/h.txt in vfat.raw"
[ "$(qemu-img info --output=json -U "$da/vda.raw" | json 'r["format"]' "$(cat)")" = raw ] ||
  fail "vda.raw is not raw"
start_guest $c                          # a's checks are done: a core is free

# --- UEFI + NVRAM + backing file --------------------------------------------
wait_agent $b 180
echo "$b (OVMF): boot to first guest-ping: $vm_ping_seconds s"
db=$(guest_dir $b)
guest_exec $b '[ -d /sys/firmware/efi ]' || fail "$b did not boot through UEFI"
[ "$(guest_exec $b 'cat /data/seed.txt')" = "vmbackup test guest $b" ] ||
  fail "$b does not read seed.txt through the overlay"
[ -s "$db/VARS.fd" ] || fail "no NVRAM file $db/VARS.fd"
vsh dumpxml $b | grep -q "<nvram template=.*>$db/VARS.fd</nvram>" || fail "no <nvram> in $b"
[ "$(qemu-img info --output=json -U "$db/vda.qcow2" | json 'r["backing-filename"]' "$(cat)")" = "$db/base.qcow2" ] ||
  fail "vda.qcow2 of $b has no backing file"
sum=$(sha256sum < "$db/base.qcow2")
guest_exec $b 'head -c 2097152 /dev/urandom > /data/new && sync' || fail "write in $b"
[ "$(sha256sum < "$db/base.qcow2")" = "$sum" ] || fail "the guest wrote into the base image"
if vsh snapshot-create-as $b int1 >"$scratch/err" 2>&1; then
  fail "internal snapshot of a pflash guest was accepted"
fi
grep -q pflash "$scratch/err" || fail "internal snapshot of $b: $(cat "$scratch/err")"
snapshot_guest $b ext1 external
[ "$(vsh domblklist $b | awk '$1 == "vda" {print $2}')" = "$db/vda.ext1" ] ||
  fail "external snapshot did not switch vda to vda.ext1"
vsh checkpoint-create-as $b cp1 >/dev/null || fail "checkpoint of $b failed"
[ "$(vsh checkpoint-list $b --name)" = cp1 ] || fail "checkpoint-list of $b"
vsh shutdown --mode acpi $b >/dev/null || fail "virsh shutdown $b"
for _ in $(seq 150); do [ "$(vsh domstate $b)" = "shut off" ] && break; sleep 0.2; done
[ "$(vsh domstate $b)" = "shut off" ] || fail "$b did not power off on the ACPI button"
destroy_guest $b
[ ! -e "$db/VARS.fd" ] || fail "undefine --nvram left $db/VARS.fd"

# --- snapshots of a qcow2 guest ---------------------------------------------
wait_agent $c
guest_exec $c 'echo before > /data/s.txt && sync' || fail "write in $c"
snapshot_guest $c run1 internal         # with memory state
guest_exec $c 'echo after > /data/s.txt && sync' || fail "write in $c"
[ "$(vsh snapshot-info $c run1 | awk '/^State:/ {print $2}')" = running ] ||
  fail "snapshot run1 is not a running-state snapshot"
vsh shutdown --mode agent $c >/dev/null || fail "agent shutdown of $c"
for _ in $(seq 150); do [ "$(vsh domstate $c)" = "shut off" ] && break; sleep 0.2; done
[ "$(vsh domstate $c)" = "shut off" ] || fail "$c did not power off on guest-shutdown"
snapshot_guest $c off1 internal
snapshot_guest $c off2 external
[ "$(vsh snapshot-list $c --name | sort | tr '\n' ' ')" = "off1 off2 run1 " ] ||
  fail "snapshots of $c: $(vsh snapshot-list $c --name)"
# Reverting to run1 brings back the running guest and the file as it was.
vsh snapshot-revert $c run1 >/dev/null || fail "snapshot-revert to run1"
[ "$(vsh domstate $c)" = running ] || fail "$c is not running after the revert"
wait_agent $c 60
[ "$(guest_exec $c 'cat /data/s.txt')" = before ] || fail "revert to run1 lost the data"

echo "ok"
