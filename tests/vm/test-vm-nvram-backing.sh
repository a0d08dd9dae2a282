#!/usr/bin/env bash
# The remaining guest variants: a qcow2 disk with a backing file is backed
# up whole (the merged view the guest sees), and a UEFI guest's NVRAM file
# and its (external, disk-only) snapshot metadata are kept in the backup.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
requires debugfs
vm_test_begin

define_guest nb-back --backing
define_guest nb-uefi --nvram
start_guest nb-back
start_guest nb-uefi
wait_agent nb-back
wait_agent nb-uefi 180

# Backing chain: plan includes the overlay; the backup holds base + overlay.
vmb plan nb-back | grep -q "backup: live" || fail "backing guest not live: $(vmb plan nb-back)"
guest_exec nb-back 'echo overlay > /data/o; sync'
vmb backup nb-back | grep -q ": application," || fail "backing backup"
vmb restore nb-back --disk vda --to back.raw --format raw >/dev/null
debugfs -R "cat /seed.txt" back.raw 2>/dev/null | grep -q "vmbackup test guest" \
  || fail "data from the backing file missing"
debugfs -R "cat /o" back.raw 2>/dev/null | grep -qx overlay || fail "overlay data missing"

# NVRAM + snapshot: plan names the NVRAM; the backup keeps it byte for byte.
vmb plan nb-uefi | grep -q "^  nvram " || fail "plan does not show the NVRAM"
snapshot_guest nb-uefi before-upgrade external
vmb backup nb-uefi > uefi.out || fail "uefi backup: $(cat uefi.out)"
id=$(last_id nb-uefi)
backup_lines "$id" > manifest.lines; m=manifest.lines
nvram=$(vsh dumpxml nb-uefi | sed -n 's:.*<nvram[^>]*>\(.*\)</nvram>.*:\1:p')
grep -q "^file role=nvram size=$(stat -c %s "$nvram") " "$m" || fail "NVRAM not kept: $(cat "$m")"
grep -q "^file role=snapshot-current .* path=before-upgrade$" "$m" || fail "snapshot metadata not kept"
grep -q "^file role=domain-xml " "$m" || fail "domain XML not kept"
vmb verify "$id" | tail -1 | grep -q ": 0 problems" || fail "verify"
echo OK
