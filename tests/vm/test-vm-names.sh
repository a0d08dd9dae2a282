#!/usr/bin/env bash
# libvirt allows any VM name without '/'; backup names are [A-Za-z0-9._-].
# A VM called "web server-ü" is backed up as web_20server-_c3_bc, and
# every command takes the VM's own name: backup, list, events, restore,
# prune.  (Shut off: no boot needed.)
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

vm="web server-ü" encoded=web_20server-_c3_bc
define_guest "$vm"
disk=$(guest_dir "$vm")/vda.qcow2
cp "$disk" original.qcow2

vmb backup "$vm" > backup.out || fail "backup of '$vm': $(cat backup.out)"
grep -q "^backup $encoded/[0-9TZ]*: offline," backup.out || fail "backup said: $(cat backup.out)"
vmb list "$vm" > list.out || fail "list '$vm'"
[ "$(grep -c "^$encoded/" list.out)" = 1 ] || fail "list '$vm': $(cat list.out)"
vmb events "$vm" | grep -q " 1000 " || fail "events '$vm': $(vmb events "$vm")"

# The VM and its disk are lost; it comes back under its own name.
vsh undefine "$vm" >/dev/null
rm "$disk"
vmb restore "$vm" > restore.out || fail "restore '$vm': $(cat restore.out)"
grep -q "^restored $encoded/.* as VM $vm: 1 disk" restore.out || fail "restore said: $(cat restore.out)"
[ "$(vsh domstate "$vm")" = "shut off" ] || fail "VM '$vm' not defined by the restore"
qemu-img compare -q original.qcow2 "$disk" || fail "restored disk differs"

vmb backup "$vm" >/dev/null
vmb prune "$vm" --keep-last 1 >/dev/null || fail "prune '$vm'"
[ "$(vmb list "$vm" | grep -c "^$encoded/")" = 1 ] || fail "prune '$vm' kept: $(vmb list "$vm")"
echo OK
