# Helpers for the file-level restore tests (vmbackup mount, umount,
# restore --path).  Source after tests/functions.sh.
#
#   make_guest_disks        mbr.img and gpt.img in the current directory
#                           (one libguestfs appliance run): see below
#   put_files FS KIND       guestfish commands writing the known files
#   check_files DIR KIND    DIR holds them, with their metadata
#   no_leftovers DIR        no FUSE mount at DIR, no process of ours, no
#                           run directory
#
# The disks: mbr.img (MBR) holds ext4 (1), vfat (2), an LVM volume
# group vg0 with an xfs logical volume root (3), and a partition of
# zeros (4); gpt.img (GPT) holds xfs (1), ext4 (2), vfat (3).

# shellcheck shell=bash
# shellcheck disable=SC2154  # $scratch is set by tests/functions.sh

requires guestfish
requires fusermount
requires nbdkit
[ -c /dev/fuse ] || { echo "$0: SKIP: no /dev/fuse"; exit 77; }

# KVM fails under qemu on some hosts (nested); TCG works everywhere.
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}
# A run directory of the test's own, short enough for unix sockets.
VMBACKUP_RUN_DIR=$(mktemp -d /tmp/vmbm.XXXXXX)
export VMBACKUP_RUN_DIR
cleanup_fn "rm -rf '$VMBACKUP_RUN_DIR'"

# The files every file system gets: KIND posix has owners, modes and
# symlinks; vfat only content, directories and times.
put_files ()
{
  local root=$1 kind=$2
  echo "mkdir-p $root/etc"
  echo "write $root/etc/fstab \"fstab of $root\""
  echo "mkdir-p $root/dir/sub"
  echo "write $root/dir/sub/file.txt \"deep file on $root\""
  echo "utimens $root/dir/sub/file.txt 1500000000 0 1500000000 0"
  echo "utimens $root/etc/fstab 1600000000 0 1600000000 0"
  if [ "$kind" = posix ]; then
    echo "write $root/secret \"only for 1234\""
    echo "chmod 0600 $root/secret"
    echo "chown 1234 5678 $root/secret"
    echo "utimens $root/secret 1400000000 0 1400000000 0"
    echo "chmod 0750 $root/dir/sub"
    echo "ln-s etc/fstab $root/link"
  fi
}

make_guest_disks ()
{
  {
    echo "sparse mbr.img 1200M"
    echo "sparse gpt.img 800M"
    echo "run"
    echo "part-init /dev/sda mbr"
    echo "part-add /dev/sda p 2048 104447"      # 50M
    echo "part-add /dev/sda p 104448 206847"    # 50M
    echo "part-add /dev/sda p 206848 1050623"   # 412M
    echo "part-add /dev/sda p 1050624 1091583"  # 20M, zeros
    echo "mkfs ext4 /dev/sda1"
    echo "mkfs vfat /dev/sda2"
    echo "pvcreate /dev/sda3"
    echo "vgcreate vg0 /dev/sda3"
    echo "lvcreate root vg0 360"
    echo "mkfs xfs /dev/vg0/root"
    echo "part-init /dev/sdb gpt"
    echo "part-add /dev/sdb p 2048 675839"      # 329M
    echo "part-add /dev/sdb p 675840 778239"    # 50M
    echo "part-add /dev/sdb p 778240 880639"    # 50M
    echo "mkfs xfs /dev/sdb1"
    echo "mkfs ext4 /dev/sdb2"
    echo "mkfs vfat /dev/sdb3"
    local dev mp kind
    for dev in /dev/sda1:/m1:posix /dev/sda2:/m2:vfat \
      /dev/vg0/root:/m3:posix /dev/sdb1:/g1:posix /dev/sdb2:/g2:posix \
      /dev/sdb3:/g3:vfat; do
      IFS=: read -r dev mp kind <<<"$dev"
      echo "mkmountpoint $mp"
      echo "mount $dev $mp"
      put_files "$mp" "$kind"
    done
    echo "umount-all"
  } | guestfish || fail "guestfish could not build the test disks"
}

# check_files DIR KIND NAME: DIR holds what put_files wrote for the file
# system it called NAME (/m1 ...).
check_files ()
{
  local d=$1 kind=$2 name=$3
  [ "$(cat "$d/etc/fstab")" = "fstab of $name" ] || fail "$d/etc/fstab: $(cat "$d/etc/fstab")"
  [ "$(cat "$d/dir/sub/file.txt")" = "deep file on $name" ] || fail "$d/dir/sub/file.txt"
  [ "$(stat -c %Y "$d/dir/sub/file.txt")" = 1500000000 ] || fail "$d/dir/sub/file.txt mtime $(stat -c %Y "$d/dir/sub/file.txt")"
  [ "$(stat -c %Y "$d/etc/fstab")" = 1600000000 ] || fail "$d/etc/fstab mtime"
  if [ "$kind" = posix ]; then
    [ "$(cat "$d/secret")" = "only for 1234" ] || fail "$d/secret content"
    [ "$(stat -c '%a %u %g %Y' "$d/secret")" = "600 1234 5678 1400000000" ] \
      || fail "$d/secret metadata: $(stat -c '%a %u %g %Y' "$d/secret")"
    [ "$(stat -c %a "$d/dir/sub")" = 750 ] || fail "$d/dir/sub mode"
    [ "$(readlink "$d/link")" = etc/fstab ] || fail "$d/link is not the symlink"
  fi
}

# no_leftovers DIR: what a mount at DIR started is all gone.
no_leftovers ()
{
  local dir=$1
  ! grep -q " $dir fuse" /proc/mounts || fail "FUSE mount left at $dir"
  [ -z "$(ls -A "$VMBACKUP_RUN_DIR")" ] || fail "run directory left: $(ls -A "$VMBACKUP_RUN_DIR")"
  # nbdkit and qemu name files in the run directory on their command line.
  ! pgrep -f "$VMBACKUP_RUN_DIR" >/dev/null \
    || fail "processes left: $(pgrep -af "$VMBACKUP_RUN_DIR")"
}
