#!/usr/bin/env bash
# Self-healing incrementals: whenever a dirty bitmap cannot be trusted,
# the backup reads the disk whole, writes an event naming the cause, and
# still succeeds.  One real guest goes through every case in turn:
# checkpoint deleted, VM restarted, disk resized / added / removed,
# previous backup's index damaged, previous backup deleted, a checkpoint
# made for another repository, a different image file behind a disk,
# a bitmap not saved because qemu was killed (shut off, and running).
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

define_guest heal --two-disks
start_guest heal
wait_agent heal
dir=$(guest_dir heal)

# backup_expect LABEL EVENT DISK=MODE...: back up, then check that the
# backup wrote EVENT (or none of 1072-1077 when EVENT is -) and read each
# DISK as MODE (full or incremental).
backup_expect ()
{
  local label=$1 event=$2; shift 2
  : > "$VMBACKUP_EVENT_LOG"
  vmb backup heal > "$label.out" 2>&1 || fail "$label: backup failed: $(cat "$label.out")"
  if [ "$event" = - ]; then
    grep -qE '"id": ?107[2-7]' "$VMBACKUP_EVENT_LOG" \
      && fail "$label: unexpected fallback: $(cat "$VMBACKUP_EVENT_LOG")"
  else
    grep -qE "\"id\": ?$event" "$VMBACKUP_EVENT_LOG" \
      || fail "$label: no event $event: $(cat "$VMBACKUP_EVENT_LOG")"
  fi
  local dm
  for dm in "$@"; do
    got=$(vmb list --json | python3 -c '
import json, sys
b = [x for x in json.load(sys.stdin) if x["name"] == "heal"][-1]
print(" ".join(d["name"] + "=" + d["read"] for d in b["disks"]))')
    [[ " $got " == *" $dm "* ]] || fail "$label: expected $dm, got $got"
  done
  echo "$label: ok ($(grep -oE '"id": ?107[0-9]' "$VMBACKUP_EVENT_LOG" | tr -d ' "id:' | sort -u | tr '\n' ' '))"
}
ours () { vsh checkpoint-list heal --name | grep '^vmbackup\.' || true; }
newest_id () { vmb list --json | python3 -c 'import json,sys; print([x["id"] for x in json.load(sys.stdin) if x["name"]=="heal"][-1])'; }
kill_qemu () {
  kill -9 "$(cat /run/libvirt/qemu/heal.pid)"
  for _ in $(seq 1 100); do [ "$(vsh domstate heal)" = "shut off" ] && break; sleep 0.1; done
}
clean_shutdown () { shutdown_guest heal; }

backup_expect first 1071 vda=full vdb=full
backup_expect steady - vda=incremental vdb=incremental

# --- the checkpoint is gone
vsh checkpoint-delete heal "$(ours)" >/dev/null
backup_expect checkpoint-gone 1072 vda=full vdb=full

# --- the VM was restarted (its bitmaps may have missed writes)
vsh destroy heal >/dev/null
start_guest heal
wait_agent heal
backup_expect restarted 1074 vda=full vdb=full

# --- a disk resized, added, removed
vsh blockresize heal vdb 96M >/dev/null
backup_expect resized 1075 vda=incremental vdb=full
qemu-img create -q -f qcow2 "$dir/vdc.qcow2" 32M
chown libvirt-qemu: "$dir/vdc.qcow2"
vsh attach-disk heal "$dir/vdc.qcow2" vdc --driver qemu --subdriver qcow2 \
  --live >/dev/null || fail "attach vdc"
backup_expect added 1075 vda=incremental vdb=incremental vdc=full
grep -q "disk vdc was added" "$VMBACKUP_EVENT_LOG" || fail "added: wrong cause"
backup_expect with-vdc - vdc=incremental
vsh detach-disk heal vdc --live >/dev/null || fail "detach vdc"
for _ in $(seq 1 50); do vsh domblklist heal | grep -q vdc || break; sleep 0.2; done
backup_expect removed 1075 vda=incremental vdb=incremental
grep -q "disk vdc of backup .* is no longer backed up" "$VMBACKUP_EVENT_LOG" \
  || fail "removed: wrong cause"

# --- the previous backup's index is damaged
idx=$(grep -o 'disk name=vda .*' "repo/backups/$(newest_id)" | grep -o 'index=[0-9a-f]*' | cut -d= -f2)
truncate -s 100 "repo/indexes/$idx.idx"
backup_expect damaged-index 1076 vda=full vdb=incremental
grep -q "index of backup .* is damaged" "$VMBACKUP_EVENT_LOG" || fail "damaged: wrong cause"

# --- the previous backup was deleted (its checkpoint names it)
rm "repo/backups/$(newest_id)"
backup_expect pruned 1076 vda=full vdb=full
grep -q "no longer in the repository" "$VMBACKUP_EVENT_LOG" || fail "pruned: wrong cause"
rm "repo/indexes/$idx.idx"    # the damaged index's backup goes too
for id in $(vmb list --json | python3 -c 'import json,sys; print(" ".join(x["id"] for x in json.load(sys.stdin) if x["name"]=="heal"))'); do
  grep -q "index=$idx" "repo/backups/$id" && rm "repo/backups/$id"
done
vmb verify >/dev/null || fail "repository does not verify after the damaged backup went"

# --- a checkpoint made for another repository: a copy of the repository
# given its own identity must not use the original's checkpoint
cp -a repo repo2
sed -i -e "s/^id .*/id $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')/" \
       -e '/^checksum /d' repo2/config
# ... and the config sealed again (its checksum covers the ID).
echo "checksum $(sha256sum < repo2/config | cut -c1-64)" >> repo2/config
VMBACKUP_REPO=$scratch/repo2 backup_expect other-repo 1077 vda=full vdb=full
[ "$(ours | wc -l)" = 2 ] || fail "one repository deleted the other's checkpoint: $(ours)"
backup_expect own-repo - vda=incremental vdb=incremental
[ "$(ours | wc -l)" = 2 ] || fail "checkpoints of two repositories: $(ours)"

# --- a different image file behind a disk (a copy carries the bitmaps)
clean_shutdown
backup_expect shut-off - vda=incremental vdb=incremental
cp "$dir/vdb.qcow2" "$dir/vdb-copy.qcow2"
chown libvirt-qemu: "$dir/vdb-copy.qcow2"
vsh dumpxml heal --inactive | sed "s|$dir/vdb.qcow2|$dir/vdb-copy.qcow2|" > swapped.xml
vsh define swapped.xml >/dev/null
backup_expect other-image 1075 vda=incremental vdb=full
grep -q "disk vdb is not the image file" "$VMBACKUP_EVENT_LOG" || fail "other image: wrong cause"

# --- qemu killed: the bitmaps loaded from the images were never saved
start_guest heal
wait_agent heal
kill_qemu
backup_expect killed-shut-off 1073 vda=full vdb=full
# A running VM whose bitmap is broken: libvirt refuses the incremental job.
start_guest heal
wait_agent heal
backup_expect after-crash 1071 vda=full vdb=full
clean_shutdown
backup_expect shut-off-again - vda=incremental vdb=incremental
start_guest heal
wait_agent heal
kill_qemu
start_guest heal
wait_agent heal
backup_expect killed-running 1073 vda=full vdb=full
backup_expect healed - vda=incremental vdb=incremental
[ "$(vsh domstate heal)" = running ] || fail "VM not running at the end"
agent_cmd heal '{"execute":"guest-fsfreeze-status"}' | grep -q thawed || fail "guest left frozen"

vmb restore heal --disk vda --to last-vda.raw --format raw >/dev/null
fsck.ext4 -n -f last-vda.raw > fsck.out 2>&1 || { cat fsck.out; fail "last backup's vda not clean"; }
vmb verify >/dev/null || fail "repository does not verify"
