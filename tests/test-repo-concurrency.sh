#!/usr/bin/env bash
# Two backups into one repository at once, and gc running during backups
# that reuse chunks only a pruned backup referenced: all verify clean.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd

cd "$scratch"
vmb init --chunk-size 256K >/dev/null
truncate -s 512M a.img b.img
put_random a.img 0 200
put_random b.img 0 100
dd if=a.img of=b.img bs=1M count=100 skip=50 seek=200 conv=notrunc status=none

# 1. Two backups at once (sharing 100 MiB of chunks).
vmb backup --image a=a.img > a.out 2>&1 & pa=$!
vmb backup --image b=b.img > b.out 2>&1 & pb=$!
wait $pa || { cat a.out; fail "concurrent backup a failed"; }
wait $pb || { cat b.out; fail "concurrent backup b failed"; }
vmb verify | tail -1 | grep -q "verified 2 backups.*: 0 problems" || fail "verify after concurrent backups"

# 2. Make every chunk of a unreferenced (prune), then back up a again
#    while gc runs over and over: the new backup reuses those chunks, and
#    gc must not delete them under it.
vmb prune a --keep-last 1 >/dev/null   # keeps a: nothing removed yet
rm -f "$VMBACKUP_REPO"/backups/a/*     # forget a by hand: its chunks are garbage now
sleep 2.5                              # older than any gc cutoff
vmb backup --image a=a.img > a2.out 2>&1 & pa=$!
# gc runs while the backup is stopped mid-way (SIGSTOP), then the backup
# goes on a little: every gc lands inside the backup however fast either
# is on this machine.
gcs=0
while kill -0 $pa 2>/dev/null; do
  kill -STOP $pa 2>/dev/null || break
  vmb gc > gc.out 2>&1 || { grep -q "another gc" gc.out || { kill -CONT $pa; cat gc.out; fail "gc failed"; }; }
  gcs=$((gcs + 1))
  kill -CONT $pa 2>/dev/null
  sleep 0.05
done
wait $pa || { cat a2.out; fail "backup during gc failed"; }
[ $gcs -ge 2 ] || fail "gc ran only $gcs times during the backup"
vmb verify | tail -1 | grep -q "verified 2 backups.*: 0 problems" || fail "gc during backup lost chunks"
vmb restore a --to a.out.img >/dev/null && cmp a.img a.out.img || fail "restore after gc"

# 3. Two gcs at once: one runs, the other says so.
vmb gc >/dev/null
echo OK
