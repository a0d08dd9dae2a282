#!/usr/bin/env bash
# Make a data disk image for the test guest, with a filesystem on the whole
# disk (no partition table: the guest mounts /dev/vda directly).
#
# Usage: make-disk.sh PATH SIZE [FORMAT] [FSTYPE] [SRCDIR]
#   SIZE    as truncate(1) takes it: 64M, 1G, ...
#   FORMAT  qcow2 (default) or raw
#   FSTYPE  ext4 (default) or vfat
#   SRCDIR  a directory whose contents are copied into the filesystem
#
# Nothing is mounted and nothing needs root: mkfs.ext4 -d populates the
# filesystem from a directory, mtools copies into a vfat image.  A qcow2 is
# made by converting the raw image, which keeps it thin.
set -euo pipefail

die () { echo "make-disk.sh: $*" >&2; exit 1; }

if [ $# -lt 2 ] || [ $# -gt 5 ]; then
  die "usage: make-disk.sh PATH SIZE [qcow2|raw] [ext4|vfat] [SRCDIR]"
fi
path=$1 size=$2 format=${3:-qcow2} fstype=${4:-ext4} srcdir=${5:-}
case $format in qcow2|raw) ;; *) die "unknown format '$format'" ;; esac
[ -z "$srcdir" ] || [ -d "$srcdir" ] || die "'$srcdir' is not a directory"

raw=$path
[ "$format" = raw ] || raw=$path.raw.tmp
rm -f "$raw"
truncate -s "$size" "$raw"

case $fstype in
  ext4)
    command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is not installed (e2fsprogs)"
    # Initialise the inode tables and journal now: otherwise the guest
    # kernel's ext4lazyinit thread writes them in the background after the
    # first mount, and those writes would show up as changed blocks in the
    # incremental backups the tests measure.
    # shellcheck disable=SC2054  # the commas separate -E's options
    args=(-q -F -t ext4 -L vmbdata -E lazy_itable_init=0,lazy_journal_init=0)
    [ -z "$srcdir" ] || args+=(-d "$srcdir")
    mkfs.ext4 "${args[@]}" "$raw"
    ;;
  vfat)
    command -v mkfs.vfat >/dev/null || die "mkfs.vfat is not installed (dosfstools)"
    mkfs.vfat -n VMBVFAT "$raw" >/dev/null
    if [ -n "$srcdir" ] && [ -n "$(ls -A "$srcdir")" ]; then
      command -v mcopy >/dev/null || die "mcopy is not installed (mtools)"
      # MTOOLS_SKIP_CHECK: the image has no partition table to sanity-check.
      MTOOLS_SKIP_CHECK=1 mcopy -s -Q -i "$raw" "$srcdir"/* ::/
    fi
    ;;
  *) die "unknown filesystem type '$fstype'" ;;
esac

if [ "$format" = qcow2 ]; then
  command -v qemu-img >/dev/null || die "qemu-img is not installed (qemu-utils)"
  qemu-img convert -q -f raw -O qcow2 "$raw" "$path"
  rm -f "$raw"
fi
