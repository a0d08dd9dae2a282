#!/usr/bin/env bash
# SIGKILL in the middle of a backup: earlier backups still verify, no
# partial backup is listed, no qemu-nbd is left behind, and the next
# backup succeeds.  (That nothing is left in $TMPDIR either is
# test-image-kill-leak.sh.)
source "$(dirname "$0")/functions.sh"
requires qemu-nbd

cd "$scratch"

# Wait up to 5 s for every qemu-nbd on big.img to exit; fail with $1 if one stays.
no_qemu_nbd_left() {
  for _ in $(seq 1 50); do
    pgrep -f "qemu-nbd.*$scratch/big.img" >/dev/null || return 0
    sleep 0.1
  done
  ! pgrep -f "qemu-nbd.*$scratch/big.img" >/dev/null || fail "$1"
}

vmb init >/dev/null
truncate -s 64M small.img
put_random small.img 0 16
vmb backup --image small=small.img >/dev/null

truncate -s 2G big.img
put_random big.img 0 1024
"$VMBACKUP" backup --image big="$scratch/big.img" > /dev/null 2>&1 &
pid=$!
# Wait until it has written chunks, then kill it without warning.
for _ in $(seq 1 600); do
  n=$(find "$VMBACKUP_REPO/tmp" "$VMBACKUP_REPO/chunks" -type f | wc -l)
  [ "$n" -gt 20 ] && break
  kill -0 $pid 2>/dev/null || fail "backup finished before it could be killed"
  sleep 0.05
done
kill -9 $pid 2>/dev/null || fail "backup finished before it could be killed"
wait $pid 2>/dev/null || true

# qemu-nbd must die with its parent (it would keep big.img locked).
no_qemu_nbd_left "qemu-nbd outlived vmbackup"

# Killed at once, even before qemu-nbd is running or answering: no
# qemu-nbd survives either (qemu-nbd's parent-death signal is armed after fork).
for delay in 0 0.005 0.01 0.02 0.04 0.08; do
  "$VMBACKUP" backup --image big="$scratch/big.img" > /dev/null 2>&1 &
  pid=$!
  sleep $delay
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
done
no_qemu_nbd_left "qemu-nbd outlived a vmbackup killed early"

[ "$(vmb list | wc -l)" = 2 ] || fail "a killed backup is listed: $(vmb list)"
vmb list big | grep -q big/ && fail "partial backup of big is visible"
vmb verify | tail -1 | grep -q "verified 1 backup.*: 0 problems" || fail "earlier backup damaged"

# The next backup succeeds and is complete.
vmb backup --image big=big.img >/dev/null || fail "backup after kill failed"
vmb restore big --to big.out >/dev/null
cmp big.img big.out || fail "backup after kill restores wrong data"
# gc clears the killed writer's leftovers (its start is long past).
sleep 2.5
vmb gc >/dev/null
[ -z "$(ls -A "$VMBACKUP_REPO/tmp")" ] || fail "gc left temporary files: $(ls -A "$VMBACKUP_REPO/tmp")"
[ -z "$(ls -A "$VMBACKUP_REPO/locks/writers")" ] || fail "gc left a dead writer registration"
vmb verify > v.out || { cat v.out; fail "verify after gc"; }
grep -q "verified 2 backups.*: 0 problems" v.out || { cat v.out; fail "verify after gc"; }
echo OK
