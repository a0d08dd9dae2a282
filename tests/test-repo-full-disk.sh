#!/usr/bin/env bash
# A full file system under the repository gives a clean error, and the
# repository still verifies; the earlier backup still restores.
source "$(dirname "$0")/functions.sh"
requires_root "mounts a small tmpfs"
requires qemu-nbd

cd "$scratch"
mkdir mnt
mount -t tmpfs -o size=48M tmpfs mnt || { echo "SKIP: cannot mount tmpfs"; exit 77; }
cleanup_fn "umount '$scratch/mnt'"
export VMBACKUP_REPO="$scratch/mnt/repo"
vmb init >/dev/null
truncate -s 64M small.img big.img
put_random small.img 0 8
put_random big.img 0 60
vmb backup --image small=small.img >/dev/null

expect_fail 1 "^vmbackup: backup big: .*No space left on device" \
  vmb backup --image big=big.img
[ "$(wc -l < "$scratch/err")" = 1 ] || { cat "$scratch/err"; fail "error is not one line"; }
vmb list big | grep -q big/ && fail "failed backup is listed"
vmb verify | tail -1 | grep -q "verified 1 backup.*: 0 problems" || fail "repository damaged by full disk"
# Nothing half-written stays behind to fill the disk.
[ -z "$(ls -A "$VMBACKUP_REPO/tmp")" ] || fail "temporary files left: $(ls -A "$VMBACKUP_REPO/tmp")"
vmb restore small --to "$scratch/small.out" >/dev/null
cmp small.img small.out || fail "earlier backup no longer restores"
echo OK
