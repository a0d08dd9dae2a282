#!/usr/bin/env bash
# Boot files: a VM that boots a kernel and initrd of its own keeps them in
# its backup; a restore on a host that lost them puts them back and the VM
# boots; a restore never replaces one that exists (a changed one is named
# by an event); one gone at backup time is named; any kept file can be
# written out with restore --file.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

define_guest bf --own-boot
dir=$(guest_dir bf)
kernel=$dir/boot/vmlinux
initrd=$dir/boot/initrd.img
sum_k=$(sha256sum < "$kernel")
sum_i=$(sha256sum < "$initrd")
start_guest bf
wait_agent bf
guest_exec bf 'echo kept > /data/f; sync'

vmb backup bf > backup.out || fail "backup: $(cat backup.out)"
id=$(last_id bf)
vmb list --json bf > list.json
python3 - list.json "$kernel" "$initrd" <<'PY' || fail "list --json: $(cat list.json)"
import json, sys
files = json.load(open(sys.argv[1]))[-1]["files"]
boot = sorted(f["path"] for f in files if f["role"] == "boot")
assert boot == sorted(sys.argv[2:4]), boot
assert any(f["role"] == "domain-xml" and f["path"] == "domain.xml" for f in files)
PY

# --- restore --file: one kept file, checked, never over an existing one
vmb restore "$id" --file "$initrd" --to initrd.copy > file.out ||
  fail "restore --file: $(cat file.out)"
[ "$(sha256sum < initrd.copy)" = "$sum_i" ] || fail "restore --file: initrd differs"
vmb restore "$id" --file domain-xml --to domain.copy >/dev/null ||
  fail "restore --file domain-xml failed"
grep -q "<name>bf</name>" domain.copy || fail "restore --file domain-xml: not the VM's XML"
expect_fail 1 "initrd.copy already exists" \
  vmb restore "$id" --file "$initrd" --to initrd.copy
expect_fail 1 "keeps no file /no/such/file" \
  vmb restore "$id" --file /no/such/file --to x
expect_fail 2 "--file wants --to" vmb restore "$id" --file "$initrd"

# --- a host that lost the VM and its boot files: restore puts them back
destroy_guest bf
rm -rf "$dir/boot" "$dir/vda.qcow2"
vmb restore "$id" --start > restore.out || fail "restore: $(cat restore.out)"
[ "$(sha256sum < "$kernel")" = "$sum_k" ] || fail "kernel not put back as it was"
[ "$(sha256sum < "$initrd")" = "$sum_i" ] || fail "initrd not put back as it was"
[ "$(stat -c %a "$kernel")" = 644 ] || fail "kernel mode $(stat -c %a "$kernel")"
wait_agent bf
[ "$(guest_exec bf 'cat /data/f')" = kept ] || fail "restored VM lacks its data"
vmb events bf > events.out
[ "$(grep -cE "info +2030 bf .*boot file $dir/boot/(vmlinux|initrd.img) was missing" events.out)" = 2 ] ||
  fail "no event 2030 for each boot file: $(grep 20 events.out)"

# --- a boot file that exists is never replaced, a changed one is named
echo changed >> "$initrd"
changed=$(sha256sum < "$initrd")
vmb restore "$id" --as bf-copy > as.out || fail "restore --as: $(cat as.out)"
cleanup_fn "destroy_guest bf-copy"
[ "$(sha256sum < "$initrd")" = "$changed" ] || fail "restore replaced an existing initrd"
vmb events bf-copy > events2.out
grep -qE "warning +2031 bf-copy .*boot file $initrd differs" events2.out ||
  fail "no event 2031 for the changed initrd: $(cat events2.out)"
grep -qE "2031 .*vmlinux" events2.out && fail "unchanged kernel reported as changed"
grep -qE "2030" events2.out && fail "an existing boot file was put back"

# --- a boot file gone at backup time: named, the rest backed up
rm "$initrd"
vmb backup bf > backup2.out || fail "backup without the initrd: $(cat backup2.out)"
vmb events bf | grep -qE "warning +1041 bf .*initrd $initrd: No such file" ||
  fail "no event 1041 for the missing initrd"
vmb list --json bf | python3 -c '
import json, sys
files = json.load(sys.stdin)[-1]["files"]
boot = [f["path"] for f in files if f["role"] == "boot"]
assert len(boot) == 1 and boot[0].endswith("/vmlinux"), boot' ||
  fail "second backup should keep the kernel only"
vmb verify > verify.out || fail "verify: $(cat verify.out)"
echo "boot files: kept, put back, never replaced, missing one named"
