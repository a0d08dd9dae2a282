#!/usr/bin/env bash
# The main job end to end: install, build, make a sample disk image, back
# it up, change it, back it up again, restore, and compare.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null

work=$(mktemp -d "${TMPDIR:-/var/tmp}/vmbackup-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
vmb () { build/vmbackup --repo "$work/repo" "$@"; }

echo "== a 2 GiB qcow2 disk image with 300 MiB of data"
truncate -s 2G "$work/disk.raw"
{ yes "vmbackup demo: a line of compressible text" || true; } | head -c 100M \
  | dd of="$work/disk.raw" conv=notrunc status=none
dd if=/dev/urandom of="$work/disk.raw" bs=1M count=200 seek=1024 \
  conv=notrunc status=none
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
rm "$work/disk.raw"

vmb init
echo "== first backup"
vmb backup --image demo="$work/disk.qcow2"
echo "== change 20 MiB inside the image, back up again (only the change is stored)"
qemu-io -f qcow2 -c 'write -P 0x77 500M 20M' "$work/disk.qcow2" >/dev/null
vmb backup --image demo="$work/disk.qcow2"
vmb list
echo "== verify every chunk"
vmb verify
echo "== restore the latest backup and compare with the image"
vmb restore demo --to "$work/restored.qcow2"
qemu-img compare "$work/disk.qcow2" "$work/restored.qcow2"
echo "demo OK"
