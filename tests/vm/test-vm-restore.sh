#!/usr/bin/env bash
# Whole-VM restore: beside the original (--as), over it (--replace), with
# a damaged repository (fails before touching the original), onto a file
# system too small, and configuration only.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

define_guest rs
start_guest rs
wait_agent rs
sum () { guest_exec "$1" "sha256sum /data/$2 2>/dev/null | cut -d' ' -f1"; }

guest_exec rs 'dd if=/dev/urandom of=/data/f1 bs=1k count=4000 2>/dev/null; sync'
at_backup=$(sum rs f1)
vsh autostart rs >/dev/null || fail "virsh autostart rs failed"
autostart () { vsh dominfo "$1" | awk '/^Autostart:/ {print $2}'; }
vmb backup rs >/dev/null
id=$(last_id rs)
# Changes after the backup.
guest_exec rs 'dd if=/dev/urandom of=/data/f1 bs=1k count=4000 2>/dev/null; echo later > /data/f2; sync'
[ "$(sum rs f1)" != "$at_backup" ] || fail "f1 did not change"

# --- an existing VM is refused, naming --replace
expect_fail 1 "VM rs exists: restore with --replace" vmb restore "$id"

# --- --as: beside the original, both running
vmb restore "$id" --as rs-copy --start > as.out || fail "restore --as: $(cat as.out)"
cleanup_fn "destroy_guest rs-copy"
wait_agent rs-copy
[ "$(sum rs-copy f1)" = "$at_backup" ] || fail "--as: f1 is not as at backup time"
[ -z "$(sum rs-copy f2)" ] || fail "--as: f2, written after the backup, is there"
[ "$(vsh domstate rs)" = running ] || fail "original stopped by --as"
[ "$(sum rs f2)" != "" ] || fail "original changed by --as"
[ "$(vsh domuuid rs)" != "$(vsh domuuid rs-copy)" ] || fail "--as kept the UUID"
[ "$(autostart rs-copy)" = disable ] || fail "a copy restored --as starts with the host"
vsh domblklist rs-copy | grep -q "rs-copy-vda.qcow2" || fail "--as did not rename the disk: $(vsh domblklist rs-copy)"
vmb events rs-copy | grep -qE "info +2001 rs-copy " || fail "no restore event"

# --- --replace with a damaged chunk: fails before the swap
chunk=$(python3 - "$VMBACKUP_REPO" "$id" <<'PY'
import sys, re
repo, bid = sys.argv[1], sys.argv[2]
m = open(f"{repo}/backups/{bid}").read()
idx = re.search(r"^disk name=vda .*index=([0-9a-f]{64})", m, re.M).group(1)
data = open(f"{repo}/indexes/{idx}.idx", "rb").read()
for i in range(64, len(data) - 32, 32):
    d = data[i:i+32]
    if any(d):
        print(f"{repo}/chunks/{d.hex()[:2]}/{d.hex()}")
        break
PY
)
cp "$chunk" chunk.saved
printf '\xff' | dd of="$chunk" bs=1 seek=100 conv=notrunc status=none
expect_fail 1 "^vmbackup: restore $id: disk vda offset [0-9]+: chunk .*checksum mismatch" \
  vmb restore "$id" --replace
[ "$(vsh domstate rs)" = running ] || fail "damaged restore stopped the original"
[ "$(sum rs f2)" != "" ] || fail "damaged restore changed the original"
ls "$(guest_dir rs)" | grep -q vmbackup-new && fail "staged disk left behind"
cp chunk.saved "$chunk"

# --- --replace: the running original is replaced and runs the backup
vmb restore "$id" --replace > replace.out || fail "restore --replace: $(cat replace.out)"
[ "$(vsh domstate rs)" = running ] || fail "--replace of a running VM left it $(vsh domstate rs)"
[ "$(autostart rs)" = enable ] || fail "--replace lost autostart: $(autostart rs)"
wait_agent rs
[ "$(sum rs f1)" = "$at_backup" ] || fail "--replace: f1 is not as at backup time"
[ -z "$(sum rs f2)" ] || fail "--replace: f2 survived"
vmb events rs | grep -qE "warning +2020 rs " || fail "no replace event"

# --- a file system too small for the disks: clean error, nothing left
mkdir small
mount -t tmpfs -o size=2M tmpfs small || { echo "SKIP part: cannot mount tmpfs"; exit 77; }
cleanup_fn "umount '$scratch/small'"
expect_fail 1 "^vmbackup: restore $id: .*No space left on device" \
  vmb restore "$id" --as rs-small --storage "$scratch/small"
[ -z "$(ls -A small)" ] || fail "files left on the full file system: $(ls -A small)"
vsh dominfo rs-small >/dev/null 2>&1 && fail "rs-small defined after a failed restore"
[ "$(vsh domstate rs)" = running ] || fail "original disturbed"

# --- an offline backup of a running VM warns of an unclean shutdown
vmb backup --consistency offline rs >/dev/null
vmb restore rs --as rs-off 2> off.err >/dev/null || fail "restore offline backup: $(cat off.err)"
cleanup_fn "destroy_guest rs-off"
grep -q "warning: backup rs/.* is offline-consistent: the guest may report an unclean shutdown" off.err \
  || fail "no unclean-shutdown warning: $(cat off.err)"
vmb events rs-off | grep -qE "warning +2010 rs-off " || fail "no event 2010"

# --- unknown ID
expect_fail 1 "^vmbackup: no backup named nosuch$" vmb restore nosuch

# --- config only: blank disks of the right size and format
vmb restore "$id" --as rs-blank --config-only > blank.out || fail "config-only: $(cat blank.out)"
cleanup_fn "destroy_guest rs-blank"
disk=$(vsh domblklist rs-blank | awk '$1 == "vda" {print $2}')
python3 - "$disk" <<'PY' || fail "blank disk wrong"
import json, subprocess, sys
info = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", sys.argv[1]]))
assert info["format"] == "qcow2", info
assert info["virtual-size"] == 64 << 20, info
assert info["actual-size"] < 1 << 20, info
PY
echo OK
