#!/usr/bin/env bash
# A VM whose disk is a block device (<disk type='block'>, as an LVM
# volume is; here a loop device): plan includes it (offline: no room
# beside a device for the point-in-time overlay); a backup of the running
# VM and one of the shut-off VM read it; restore --as needs --storage for
# the copy; restore --replace writes it back into the same device, zeros
# included; a lost VM comes back into its device only if nothing else
# uses it.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

define_guest blk --raw --block --size 96M
dev=$guest_block_dev
start_guest blk
wait_agent blk
sum () { guest_exec "$1" "sha256sum /data/$2 2>/dev/null | cut -d' ' -f1"; }

# --- plan: the block device is a disk the host reads; offline, named
vmb plan blk --json > plan.json || fail "plan blk failed"
python3 - "$dev" plan.json <<'PY' || fail "plan: $(cat plan.json)"
import json, sys
dev, plan = sys.argv[1], json.load(open(sys.argv[2]))
vm = plan[0] if isinstance(plan, list) else plan
disks = {d["target"]: d for d in vm["disks"]}
assert disks["vda"]["included"], disks
assert disks["vda"]["source"] == dev, disks
assert vm["mode"] == "offline", vm
assert "vda is a block disk" in vm["reason"], vm
PY

# --- the running VM: suspended for the point-in-time copy, then resumed
guest_exec blk 'dd if=/dev/urandom of=/data/f1 bs=1k count=8000 2>/dev/null; sync'
at_backup=$(sum blk f1)
vmb backup blk > live.out 2>&1 || fail "backup of the running VM: $(cat live.out)"
grep -q "offline.*downtime [0-9]* ms" live.out || fail "not an offline backup: $(cat live.out)"
[ "$(vsh domstate blk)" = running ] || fail "blk is $(vsh domstate blk) after its backup"
live_id=$(last_id blk)

# --- shut off: the device is read directly
shutdown_guest blk
vmb backup blk > off.out 2>&1 || fail "shut-off backup: $(cat off.out)"
grep -q "offline" off.out || fail "not an offline backup: $(cat off.out)"
off_id=$(last_id blk)
vmb restore "$off_id" --disk vda --to off.img >/dev/null || fail "restore the shut-off backup's disk"
cmp off.img "$dev" || fail "the shut-off backup differs from the device"
rm -f off.img

# --- --as: a copy needs a place for its disk file
expect_fail 1 "disk vda is the block device $dev: give --storage DIR for the copy's image" \
  vmb restore "$live_id" --as blk-copy
mkdir copies
chmod 755 copies
vmb restore "$live_id" --as blk-copy --storage "$scratch/copies" --start > as.out ||
  fail "restore --as --storage: $(cat as.out)"
cleanup_fn "destroy_guest blk-copy"
[ -f copies/blk-copy-vda.img ] || fail "no image file for the copy: $(ls copies)"
wait_agent blk-copy
[ "$(sum blk-copy f1)" = "$at_backup" ] || fail "--as copy: f1 is not as at backup time"
vsh destroy blk-copy >/dev/null

# --- --replace: written back into the same device, every byte
vsh start blk >/dev/null
wait_agent blk
guest_exec blk 'rm /data/f1; echo later > /data/f2; sync' || fail "change blk"
vsh destroy blk >/dev/null
# Scribble over the whole device, holes included: the restore must write
# zeros where the backup has zeros, not leave this behind.
dd if=/dev/urandom of="$dev" bs=1M count=96 conv=fsync status=none 2>/dev/null || true
vmb restore "$live_id" --replace > replace.out 2>&1 || fail "restore --replace: $(cat replace.out)"
grep -q "^restored $live_id as VM blk: 1 disk" replace.out || fail "restore --replace said: $(cat replace.out)"
[ "$(vsh domblklist blk | awk '$1 == "vda" {print $2}')" = "$dev" ] ||
  fail "vda is no longer $dev: $(vsh domblklist blk)"
vmb events blk --json | grep -q '"id": *2021' || fail "no event 2021 for the device written"
vmb restore "$live_id" --disk vda --to live.img >/dev/null
cmp live.img "$dev" || fail "the device differs from the backup after --replace"
vsh start blk >/dev/null
wait_agent blk
[ "$(sum blk f1)" = "$at_backup" ] || fail "--replace: f1 is not as at backup time"
[ -z "$(sum blk f2)" ] || fail "--replace: f2, written after the backup, is there"

# --- the VM is lost, its device is not: restore writes into the device
#     only when nothing else uses it
vsh destroy blk >/dev/null
vsh dumpxml blk > blk.xml
vsh undefine blk >/dev/null
sed -e 's|<name>blk</name>|<name>blk-other</name>|' -e '/<uuid>/d' blk.xml > other.xml
vsh define other.xml >/dev/null || fail "define blk-other"
cleanup_fn "destroy_guest blk-other"
expect_fail 1 "disk vda: block device $dev is a disk of VM blk-other" \
  vmb restore "$live_id"
vsh undefine blk-other >/dev/null

mkdir mnt
mount -o ro "$dev" mnt || fail "mount $dev"
cleanup_fn "umount '$scratch/mnt' 2>/dev/null"
expect_fail 1 "disk vda: block device $dev is in use: Device or resource busy" \
  vmb restore "$live_id"
umount mnt

raw=$(guest_dir blk)/vda.raw
truncate -s 32M "$raw" && losetup -c "$dev"
expect_fail 1 "disk vda: block device $dev holds 32.0 MiB, the disk needs 96.0 MiB" \
  vmb restore "$live_id"
truncate -s 96M "$raw" && losetup -c "$dev"
! vsh dominfo blk >/dev/null 2>&1 || fail "a refused restore defined VM blk"

vmb restore "$live_id" --start > lost.out 2>&1 || fail "restore of the lost VM: $(cat lost.out)"
wait_agent blk
[ "$(sum blk f1)" = "$at_backup" ] || fail "lost VM restored: f1 is not as at backup time"
echo OK
