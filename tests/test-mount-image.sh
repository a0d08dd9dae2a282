#!/usr/bin/env bash
# vmbackup mount shows the guest file systems of an image backup
# (encrypted repository) under a directory: MBR and GPT partitions, an
# LVM logical volume; ext4, xfs and vfat with their files' content and
# metadata (mode, owner, times, symlinks); a partition it cannot read is
# named.  umount leaves nothing (no FUSE mount, no nbdkit or qemu of
# ours, no run directory).  restore --path copies files and directories
# out with their metadata, and names a path the disk does not have.
tests=$(cd "$(dirname "$0")" && pwd)
source "$tests/functions.sh"
source "$tests/functions-mount.sh"
cd "$scratch"

make_guest_disks
vmb init >/dev/null
vmb backup --image mbr=mbr.img --image gpt=gpt.img >/dev/null

mkdir mnt
start=$(date +%s.%N)
vmb mount mbr "$scratch/mnt" > mount.out || fail "mount mbr: $(cat mount.out)"
echo "mount of the MBR disk: $(awk "BEGIN{print $(date +%s.%N) - $start}") s"
grep -q "^  $scratch/mnt/mbr1 (ext4)$" mount.out || fail "ext4 partition not listed: $(cat mount.out)"
grep -q "^  $scratch/mnt/mbr2 (vfat)$" mount.out || fail "vfat partition not listed"
grep -q "^  $scratch/mnt/vg0-root (xfs)$" mount.out || fail "LVM volume not listed"
grep -q "^  mbr4: unknown file system not readable" mount.out \
  || fail "the unreadable partition is not named: $(cat mount.out)"
[ "$(ls "$scratch/mnt" | tr '\n' ' ')" = "mbr1 mbr2 vg0-root " ] \
  || fail "mount point holds: $(ls "$scratch/mnt")"
grep -q " $scratch/mnt fuse ro," /proc/mounts || fail "not a read-only FUSE mount"
check_files mnt/mbr1 posix /m1
check_files mnt/mbr2 vfat /m2
check_files mnt/vg0-root posix /m3
! touch mnt/mbr1/new 2>/dev/null || fail "wrote into the backup's file system"
# Other users see it with the guest's modes and owners enforced.
if command -v setpriv >/dev/null; then
  chmod o+x "$scratch"
  as_nobody () { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
  [ "$(as_nobody cat mnt/mbr1/etc/fstab)" = "fstab of /m1" ] \
    || fail "another user cannot read a world-readable file"
  ! as_nobody cat mnt/mbr1/secret >/dev/null 2>&1 \
    || fail "another user read a mode 0600 file of uid 1234"
fi
# A second mount on the same directory is refused.
expect_fail 1 "already mounted by vmbackup" vmb mount gpt "$scratch/mnt"
vmb umount "$scratch/mnt" > umount.out || fail "umount: $(cat umount.out)"
grep -q "^unmounted $scratch/mnt$" umount.out || fail "umount said: $(cat umount.out)"
no_leftovers "$scratch/mnt"
[ -z "$(ls -A mnt)" ] || fail "the mount point is not empty after umount"

vmb mount gpt mnt > mount.out || fail "mount gpt: $(cat mount.out)"
for p in 1:xfs 2:ext4 3:vfat; do
  grep -q "^  $scratch/mnt/gpt${p%:*} (${p#*:})$" mount.out || fail "gpt${p%:*} not listed: $(cat mount.out)"
done
check_files mnt/gpt1 posix /g1
check_files mnt/gpt2 posix /g2
check_files mnt/gpt3 vfat /g3
vmb umount mnt >/dev/null
no_leftovers "$scratch/mnt"
expect_fail 1 "is not mounted by vmbackup" vmb umount mnt

# restore --path: a directory, a file, a symlink; a missing path is
# named, the others still restored.
rc=0
vmb restore gpt --path /gpt2/dir --path /gpt2/secret --path /gpt2/link \
  --path /gpt1/etc/fstab --path /gpt2/nope --to got > restore.out 2> restore.err || rc=$?
[ "$rc" = 1 ] || fail "restore with a missing path exited $rc"
grep -q "has no /gpt2/nope" restore.err || fail "missing path not named: $(cat restore.err)"
[ "$(wc -l < restore.err)" = 1 ] || fail "more than one line: $(cat restore.err)"
[ "$(cat got/secret)" = "only for 1234" ] || fail "restored secret"
[ "$(stat -c '%a %u %g %Y' got/secret)" = "600 1234 5678 1400000000" ] \
  || fail "restored secret's metadata: $(stat -c '%a %u %g %Y' got/secret)"
[ "$(readlink got/link)" = etc/fstab ] || fail "restored symlink"
[ "$(stat -c %a got/dir/sub)" = 750 ] || fail "restored directory mode"
[ "$(cat got/dir/sub/file.txt)" = "deep file on /g2" ] || fail "restored deep file"
[ "$(stat -c %Y got/dir/sub/file.txt)" = 1500000000 ] || fail "restored deep file mtime"
[ "$(cat got/fstab)" = "fstab of /g1" ] || fail "restored fstab from xfs"
no_leftovers /nonexistent
ls "$VMBACKUP_RUN_DIR" | grep -q '^private-' && fail "restore left its mount point: $(ls "$VMBACKUP_RUN_DIR")"
# A target that exists is refused before anything starts.
expect_fail 1 "got/secret already exists" vmb restore gpt --path /gpt2/secret --to got
echo OK
