#!/usr/bin/env bash
# A VM's snapshot tree travels with its backup: the snapshot XML (parents
# first, the current one marked) and the disk state of internal qcow2
# snapshots, restorable as the disk TARGET@SNAPSHOT.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
requires debugfs
vm_test_begin

define_guest sn
start_guest sn
wait_agent sn
guest_exec sn 'echo first > /data/a; sync'
snapshot_guest sn s1 internal
guest_exec sn 'echo second > /data/b; sync'
snapshot_guest sn s2 internal
guest_exec sn 'echo third > /data/c; sync'

vmb backup sn > backup.out || fail "backup: $(cat backup.out)"
id=$(last_id sn)
backup_lines "$id" > manifest.lines; m=manifest.lines
grep -q "^disk name=vda@s1 " "$m" || fail "no disk state for s1: $(cat "$m")"
grep -q "^disk name=vda@s2 " "$m" || fail "no disk state for s2"
# Parents before children; the current snapshot marked.
grep -oE "^file role=snapshot(-current)? .* path=[a-z0-9]+" "$m" \
  | sed -E 's/^file role=([a-z-]+) .* path=/\1 /' > snaps
[ "$(cat snaps)" = "$(printf 'snapshot s1\nsnapshot-current s2')" ] || fail "snapshot files: $(cat snaps)"

has () { debugfs -R "cat /$2" "$1" 2>/dev/null | grep -qx "$3"; }
vmb restore "$id" --disk vda@s1 --to s1.raw --format raw >/dev/null
has s1.raw a first || fail "s1 lacks a"
has s1.raw b second && fail "s1 has b, written after it"
vmb restore "$id" --disk vda@s2 --to s2.raw --format raw >/dev/null
has s2.raw b second || fail "s2 lacks b"
has s2.raw c third && fail "s2 has c"
vmb restore "$id" --disk vda --to now.raw --format raw >/dev/null
has now.raw c third || fail "current state lacks c"
fsck.ext4 -n -f s1.raw >/dev/null 2>&1 || fail "s1 state not clean"

# The snapshot XML kept is what libvirt holds (verify covers it too).
vmb verify | tail -1 | grep -q ": 0 problems" || fail "verify"

# Restore over the VM: the same snapshots are listed, the current one
# marked, and reverting to each gives its disk contents.
vmb restore "$id" --replace > restore.out || fail "restore: $(cat restore.out)"
[ "$(vsh snapshot-list sn --name | sort | tr '\n' ' ')" = "s1 s2 " ] \
  || fail "snapshots after restore: $(vsh snapshot-list sn)"
[ "$(vsh snapshot-current sn --name)" = s2 ] || fail "current snapshot not s2"
# It ran before, so it runs again; stop it to look inside its image.
[ "$(vsh domstate sn)" = running ] || fail "restored VM not running"
vsh destroy sn >/dev/null
disk=$(vsh domblklist sn | awk '$1 == "vda" {print $2}')
qemu-img snapshot -l "$disk" | grep -qw s1 || fail "s1 is not inside the restored qcow2"
state_has () {                          # state_has FILE TEXT: in the image now
  qemu-img convert -O raw "$disk" "$scratch/cur.raw"
  debugfs -R "cat /$1" "$scratch/cur.raw" 2>/dev/null | grep -qx "$2"
}
state_has c third || fail "restored current state lacks c"
vsh snapshot-revert sn s1 || fail "revert to s1 failed"
state_has a first || fail "after revert to s1: a missing"
state_has b second && fail "after revert to s1: b is there"
vsh snapshot-revert sn s2 || fail "revert to s2 failed"
state_has b second || fail "after revert to s2: b missing"
state_has c third && fail "after revert to s2: c is there"
echo OK
