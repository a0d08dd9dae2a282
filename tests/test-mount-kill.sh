#!/usr/bin/env bash
# vmbackup mount and bad input, and kill -9: an unknown backup or disk,
# a files backup, a mount point that is not empty or missing: one line,
# non-zero, nothing made.  A mount killed while it starts, or whose
# background process is killed once it serves, leaves a run directory
# that the next mount or umount cleans up: afterwards no FUSE mount, no
# nbdkit or qemu of ours, no run directory; the same for a killed
# restore --path, cleaned up by the next one.  A file system on the whole
# disk (no partition table) is shown under the disk's name.
tests=$(cd "$(dirname "$0")" && pwd)
source "$tests/functions.sh"
source "$tests/functions-mount.sh"
requires mkfs.ext4
cd "$scratch"

mkdir -p tree/etc && echo "whole disk" > tree/etc/fstab
chmod 0640 tree/etc/fstab
touch -d @1300000000 tree/etc/fstab
# Enough to copy that a restore --path is still copying when it is
# killed (a few KiB were copied before the test saw the mount).
head -c 32M /dev/urandom > tree/etc/bulk
truncate -s 96M whole.img
mkfs.ext4 -q -F -d tree whole.img
truncate -s 8M second.img
vmb init >/dev/null
vmb backup --image whole=whole.img >/dev/null
vmb files backup --name f tree >/dev/null
mkdir mnt full
echo x > full/file

expect_fail 1 "no backup|not found|unknown" vmb mount nosuch mnt
expect_fail 1 "has no disk vdz" vmb mount whole --disk vdz mnt
expect_fail 1 "is a files backup" vmb mount f mnt
expect_fail 1 "full is not empty: mount on an empty directory" vmb mount whole full
expect_fail 1 "missing is not a directory" vmb mount whole missing
expect_fail 2 "give a backup ID and a directory" vmb mount whole
expect_fail 1 "is not mounted by vmbackup" vmb umount mnt
expect_fail 2 "--path goes with --to DIR" vmb restore whole --path /whole/etc/fstab
expect_fail 2 "give an absolute path" vmb restore whole --path whole/etc --to got
expect_fail 2 "give an absolute path" vmb restore whole --path /whole/../x --to got
[ "$(ls full)" = file ] || fail "the non-empty directory was changed"
[ ! -e missing ] && [ ! -e got ] || fail "a refused command made something"
[ -z "$(ls -A "$VMBACKUP_RUN_DIR")" ] || fail "a refused mount left a run directory"

# Killed while the appliance starts: the background process dies with
# it, the next mount cleans up what is left and works.
"$VMBACKUP" mount whole mnt > start.out 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -qs "^mounting " start.out && break
  sleep 0.1
done
sleep 3
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
# nbdkit stops once qemu, its client, is gone: libguestfs's recovery
# process kills qemu within its 2 s poll.
for _ in $(seq 150); do
  pgrep -f "$VMBACKUP_RUN_DIR" >/dev/null || break
  sleep 0.1
done
! pgrep -f "$VMBACKUP_RUN_DIR" >/dev/null \
  || fail "processes outlive a killed mount: $(pgrep -af "$VMBACKUP_RUN_DIR")"
vmb mount whole mnt > mount.out || fail "mount after a killed one: $(cat mount.out)"
grep -q "^  $scratch/mnt/whole (ext4)$" mount.out || fail "whole-disk ext4: $(cat mount.out)"
[ "$(cat mnt/whole/etc/fstab)" = "whole disk" ] || fail "content"
[ "$(stat -c '%a %Y' mnt/whole/etc/fstab)" = "640 1300000000" ] || fail "metadata"

# Its background process killed while it serves: the FUSE mount is
# dead; umount cleans up all.
keeper=$(head -1 "$VMBACKUP_RUN_DIR"/mount-*/keeper.pid)
kill -9 "$keeper"
sleep 1
vmb umount mnt > umount.out || fail "umount of a dead mount: $(cat umount.out)"
grep -q "its mount had died" umount.out || fail "umount said: $(cat umount.out)"
no_leftovers "$scratch/mnt"
[ -z "$(ls -A mnt)" ] || fail "mount point not empty after umount"

# restore --path killed while it copies from its private mount: the
# next restore cleans that mount up (no dead mount point left beside
# the run directories).
ls -d "$VMBACKUP_RUN_DIR"/private-* > restores.before 2>/dev/null || true
"$VMBACKUP" restore whole --path /whole/etc --to got > restore.out 2>&1 &
pid=$!
for _ in $(seq 600); do
  grep -q " $VMBACKUP_RUN_DIR/private-[^ ]* fuse" /proc/mounts && break
  kill -0 "$pid" 2>/dev/null || fail "restore ended before it mounted: $(cat restore.out)"
  sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
rm -rf got
vmb restore whole --path /whole/etc --to got > restore.out \
  || fail "restore after a killed one: $(cat restore.out)"
[ "$(cat got/etc/fstab)" = "whole disk" ] || fail "restored content"
[ "$(stat -c '%a %Y' got/etc/fstab)" = "640 1300000000" ] || fail "restored metadata"
ls -d "$VMBACKUP_RUN_DIR"/private-* > restores.after 2>/dev/null || true
diff restores.before restores.after >/dev/null \
  || fail "restore mount points left: $(cat restores.after)"
no_leftovers /nonexistent
echo OK
