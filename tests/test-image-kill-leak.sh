#!/usr/bin/env bash
# Image backups killed with SIGKILL leave nothing behind in $TMPDIR:
# no vmbackup-nbd-* directory (qemu-nbd's socket is unlinked, and its
# private directory removed, before qemu-nbd runs) and no qemu-nbd
# process.  Killed at random delays while backing up qcow2 and raw
# images (both read through qemu-nbd), and once exactly while the
# socket's name exists (held there by a test hook).
# The operations and delays come from a seed, fixed unless
# VMBACKUP_TEST_SEED gives another, and printed: the same seed replays
# the same sequence (where a delay lands still depends on the machine).
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
requires qemu-img

cd "$scratch"
# Our own TMPDIR: other tests' runs cannot add or remove directories in it.
export TMPDIR=$scratch/tmp
mkdir "$TMPDIR"
seed=${VMBACKUP_TEST_SEED:-1204}  # fixed, so a run is repeatable
echo "seed $seed (VMBACKUP_TEST_SEED=$seed replays it)"
RANDOM=$seed

vmb init --chunk-size 64K >/dev/null
truncate -s 256M disk.raw
put_random disk.raw 0 192
qemu-img convert -f raw -O qcow2 disk.raw disk.qcow2

# Wait up to 5 s for every qemu-nbd serving one of our images to exit.
no_qemu_nbd_left ()
{
  for _ in $(seq 1 50); do
    pgrep -f "qemu-nbd.*$scratch/" >/dev/null || return 0
    sleep 0.1
  done
  fail "$1: qemu-nbd left running: $(pgrep -af "qemu-nbd.*$scratch/")"
}

kills=0
for i in $(seq 1 30); do
  if (( i % 2 )); then img=disk.qcow2; else img=disk.raw; fi
  # 0 to 0.4 s: before qemu-nbd starts, while it starts, while it serves.
  delay=$(printf '0.%03d' $((RANDOM % 400)))
  "$VMBACKUP" backup --image "d$i=$scratch/$img" >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
  wait $pid 2>/dev/null || true
  no_qemu_nbd_left "kill $i ($img after ${delay}s)"
  left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'vmbackup-nbd-*')
  [ -z "$left" ] || fail "kill $i ($img after ${delay}s) left $left"
done
[ "$kills" -ge 20 ] || fail "only $kills of 30 backups were still running when killed"
echo "$kills kills: no directory, no qemu-nbd left"

# Killed exactly while the socket has its name: the test hook holds the
# process about to become qemu-nbd there.  It still removes the
# directory, then follows its parent instead of running qemu-nbd.
flag=$scratch/named
VMBACKUP_TEST_NBD_PAUSE_FILE=$flag "$VMBACKUP" backup --image "w=$scratch/disk.raw" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do [ -s "$flag" ] && break; sleep 0.05; done
[ -s "$flag" ] || fail "the socket was never made"
dir=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'vmbackup-nbd-*')
[ -S "$dir/sock" ] || fail "no socket in $TMPDIR while paused: $(ls -A "$TMPDIR")"
kill -9 $pid
wait $pid 2>/dev/null || true
rm "$flag"
for _ in $(seq 1 50); do [ -e "$dir" ] || break; sleep 0.1; done
[ ! -e "$dir" ] || fail "killed while the socket had its name: $dir left"
no_qemu_nbd_left "killed while the socket had its name"
vmb list | grep -q '^w/' && fail "the killed backup is listed"

# A backup that is not killed still works with the socket gone from disk.
vmb backup --image whole="$scratch/disk.qcow2" >/dev/null || fail "backup"
vmb restore whole --to whole.qcow2 >/dev/null || fail "restore"
qemu-img compare -q disk.qcow2 whole.qcow2 || fail "restored image differs"
[ -z "$(ls -A "$TMPDIR")" ] || fail "a finished backup left $(ls -A "$TMPDIR")"
echo OK
