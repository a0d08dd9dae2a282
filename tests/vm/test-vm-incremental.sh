#!/usr/bin/env bash
# Incremental backups with libvirt checkpoints: a running guest writes
# known data at many offsets of a raw-used disk (vdb, no file system) and
# files on its ext4 disk (vda); a full backup, more writes, an
# incremental that reads only the changed chunks.  Each backup restores
# to exactly the disk as it was: region checksums taken in the guest at
# backup time, and a byte-for-byte comparison with the image once the
# guest is shut off.  Then a shut-off VM's incremental (qemu-nbd -B on
# the persistent bitmap, after a write with qemu-io), and a running one
# again after the VM is started.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
requires_vm
requires debugfs
requires qemu-io
start_libvirt
build_guest
cd "$scratch"
vmb init >/dev/null

define_guest inc --two-disks
start_guest inc
wait_agent inc
dir=$(guest_dir inc)
guest_exec inc 'umount /data2' || fail "cannot unmount /data2 in the guest"

# Offsets in 64 KiB blocks across the 64 MiB disk: chunk starts and
# ends, a write that straddles two 4 MiB chunks (63), the last block.
offsets="0 17 63 200 511 777 1000 1023"
changed="17 511 1023 333"
write_regions () { # GEN OFFSET...: random data, 2 blocks (1 at the end)
  local gen=$1; shift
  local cmd="" o
  for o in "$@"; do
    cmd+="dd if=/dev/urandom of=/dev/vdb bs=64k seek=$o count=$(( o == 1023 ? 1 : 2 )) conv=notrunc 2>/dev/null; "
  done
  guest_exec inc "$cmd sync" || fail "writing generation $gen in the guest"
}
region_sums () { # print "OFFSET SHA" for every offset, read in the guest
  local cmd="" o
  for o in $offsets 333; do
    cmd+="echo $o \$(dd if=/dev/vdb bs=64k skip=$o count=$(( o == 1023 ? 1 : 2 )) 2>/dev/null | sha256sum | cut -d' ' -f1); "
  done
  guest_exec inc "$cmd"
}
image_sums () { # IMAGE: the same from a restored raw image
  local o
  for o in $offsets 333; do
    echo "$o $(dd if="$1" bs=64k skip="$o" count=$(( o == 1023 ? 1 : 2 )) 2>/dev/null | sha256sum | cut -d' ' -f1)"
  done
}
disk_json () { # BACKUP-INDEX DISK FIELD from vmb list --json
  vmb list --json | python3 -c '
import json, sys
b = [x for x in json.load(sys.stdin) if x["name"] == "inc"][int(sys.argv[1])]
print([d for d in b["disks"] if d["name"] == sys.argv[2]][0][sys.argv[3]])' "$@"
}

# --- generation 1 and the first (full) backup
write_regions 1 $offsets
guest_exec inc 'dd if=/dev/urandom of=/data/f1 bs=1k count=3000 2>/dev/null; sync; sha256sum /data/f1' \
  | cut -d' ' -f1 > f1-gen1.sha
region_sums > gen1.sums
vmb backup inc > b1.out || fail "first backup: $(cat b1.out)"
[ "$(disk_json -1 vdb read)" = full ] || fail "first backup is not a full read"
vsh checkpoint-list inc --name | grep -q '^vmbackup\.' || fail "no checkpoint made"
vmb events inc --json | grep -qE '"id": ?1071' || fail "no event for the first full read"

# --- generation 2: some regions rewritten, one new; a file changed
write_regions 2 $changed
guest_exec inc 'dd if=/dev/urandom of=/data/f1 bs=1k count=500 conv=notrunc 2>/dev/null; sync; sha256sum /data/f1' \
  | cut -d' ' -f1 > f1-gen2.sha
region_sums > gen2.sums
cmp -s gen1.sums gen2.sums && fail "generation 2 changed nothing"
vmb backup inc > b2.out || fail "incremental backup: $(cat b2.out)"
grep -q "(2 incremental)" b2.out || fail "second backup not incremental: $(cat b2.out)"
[ "$(disk_json -1 vdb read)" = incremental ] || fail "vdb not read incrementally"
read2=$(disk_json -1 vdb bytes_read); read1=$(disk_json -2 vdb bytes_read)
# Four 4 MiB chunks hold the changes; the full read read every written one.
[ "$read2" -le $((4 * 4 * 1048576)) ] || fail "incremental read $read2 bytes of vdb"
[ "$read2" -lt "$read1" ] || fail "incremental read $read2 >= full read $read1"
vmb events inc --json | grep -qE '"id": ?1070' || fail "no incremental event"
[ "$(vsh checkpoint-list inc --name | grep -c '^vmbackup\.')" = 1 ] \
  || fail "old checkpoints not deleted: $(vsh checkpoint-list inc --name)"

# --- each backup restores to its own point in time
id1=$(vmb list --json | python3 -c 'import json,sys; print([x["id"] for x in json.load(sys.stdin) if x["name"]=="inc"][0])')
id2=$(vmb list --json | python3 -c 'import json,sys; print([x["id"] for x in json.load(sys.stdin) if x["name"]=="inc"][1])')
vmb restore "$id1" --disk vdb --to b1-vdb.raw --format raw >/dev/null
vmb restore "$id2" --disk vdb --to b2-vdb.raw --format raw >/dev/null
image_sums b1-vdb.raw > b1.sums
image_sums b2-vdb.raw > b2.sums
# Offset 333 was never written before generation 2: compare it only in b2.
diff <(grep -v '^333 ' gen1.sums) <(grep -v '^333 ' b1.sums) \
  || fail "the full backup does not hold generation 1"
diff gen2.sums b2.sums || fail "the incremental backup does not hold generation 2"
vmb restore "$id2" --disk vda --to b2-vda.raw --format raw >/dev/null
vmb restore "$id1" --disk vda --to b1-vda.raw --format raw >/dev/null
fsck.ext4 -n -f b2-vda.raw > fsck.out 2>&1 || { cat fsck.out; fail "incremental vda not clean"; }
[ "$(debugfs -R 'cat /f1' b1-vda.raw 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(cat f1-gen1.sha)" ] \
  || fail "full backup's /f1 differs"
[ "$(debugfs -R 'cat /f1' b2-vda.raw 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$(cat f1-gen2.sha)" ] \
  || fail "incremental backup's /f1 differs"

# --- byte for byte: nothing wrote to vdb since; shut the guest off cleanly
shutdown_guest inc
qemu-img convert -O raw "$dir/vdb.qcow2" now-vdb.raw
cmp now-vdb.raw b2-vdb.raw || fail "incremental restore differs from the disk"

# --- shut off: the persistent bitmap, exported with qemu-nbd -B
qemu-io -f qcow2 -c 'write -P 0xab 10M 128k' "$dir/vdb.qcow2" >/dev/null
vmb backup inc > b3.out || fail "shut-off incremental: $(cat b3.out)"
[ "$(disk_json -1 vdb read)" = incremental ] || fail "shut-off backup not incremental: $(cat b3.out)"
# The clean shutdown's unmount wrote vda's superblock and journal only.
[ "$(disk_json -1 vda read)" = incremental ] || fail "vda not incremental while shut off"
[ "$(disk_json -1 vda bytes_read)" -le $((2 * 4194304)) ] || fail "shut-off vda read $(disk_json -1 vda bytes_read) bytes"
[ "$(disk_json -1 vdb bytes_read)" -le 4194304 ] || fail "shut-off incremental read too much"
vmb restore inc --disk vdb --to b3-vdb.raw --format raw >/dev/null
qemu-img convert -O raw "$dir/vdb.qcow2" now-vdb.raw
cmp now-vdb.raw b3-vdb.raw || fail "shut-off incremental restore differs from the disk"

# --- started again: the chain goes on from the shut-off backup
start_guest inc
wait_agent inc
guest_exec inc 'umount /data2; dd if=/dev/urandom of=/dev/vdb bs=64k seek=900 count=1 conv=notrunc 2>/dev/null; sync' \
  || fail "write after restart"
vmb backup inc > b4.out || fail "backup after start: $(cat b4.out)"
[ "$(disk_json -1 vdb read)" = incremental ] || fail "backup after a clean start not incremental: $(cat b4.out)"
sum=$(guest_exec inc 'dd if=/dev/vdb bs=64k skip=900 count=1 2>/dev/null | sha256sum' | cut -d' ' -f1)
vmb restore inc --disk vdb --to b4-vdb.raw --format raw >/dev/null
[ "$(dd if=b4-vdb.raw bs=64k skip=900 count=1 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$sum" ] \
  || fail "write after restart missing from the incremental"
cmp <(dd if=b4-vdb.raw bs=1M skip=10 count=1 2>/dev/null | head -c 131072) \
    <(head -c 131072 /dev/zero | tr '\0' '\253') || fail "shut-off write lost"
# --- raw disks keep no bitmap: read whole, deduplicated, with event 1071
define_guest incraw --raw
vmb backup incraw >/dev/null || fail "raw VM backup"
: > "$VMBACKUP_EVENT_LOG"
vmb backup incraw > raw2.out || fail "second raw VM backup: $(cat raw2.out)"
grep -q "(.*incremental)" raw2.out && fail "raw disk read incrementally: $(cat raw2.out)"
grep -qE '"id": ?1071.*disk vda is raw' "$VMBACKUP_EVENT_LOG" || fail "no event for the raw disk"
vmb list --json | python3 -c '
import json, sys
b = [x for x in json.load(sys.stdin) if x["name"] == "incraw"][-1]
assert b["disks"][0]["read"] == "full" and b["disks"][0]["stored_new"] == 0, b' \
  || fail "unchanged raw disk not read whole and deduplicated"

# --- a qcow2 v2 image keeps no bitmaps: libvirt cannot make a checkpoint;
# the backup goes on without one, and the next is a full read again
define_guest incv2
qemu-img amend -f qcow2 -o compat=0.10 "$(guest_dir incv2)/vda.qcow2"
start_guest incv2
wait_agent incv2
: > "$VMBACKUP_EVENT_LOG"
vmb backup incv2 > v2.out 2>&1 || fail "backup of a qcow2 v2 VM: $(cat v2.out)"
grep -qE '"id": ?1071.*no checkpoint can be made' "$VMBACKUP_EVENT_LOG" \
  || fail "no event for the missing checkpoint: $(cat "$VMBACKUP_EVENT_LOG")"
vmb backup incv2 > v2b.out 2>&1 || fail "second backup of a qcow2 v2 VM: $(cat v2b.out)"
agent_cmd incv2 '{"execute":"guest-fsfreeze-status"}' | grep -q thawed || fail "qcow2 v2 guest left frozen"

vmb verify >/dev/null || fail "repository does not verify"
echo "incremental: vdb full read $read1 bytes, incremental $read2 bytes"
