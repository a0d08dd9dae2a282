#!/usr/bin/env bash
# Two backups into one repository at once, and gc running during backups
# that reuse chunks only a pruned backup referenced: all verify clean; gc
# waiting for a backup that holds a chunk directory says so.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd

cd "$scratch"
vmb init >/dev/null                    # 4 MiB chunks
truncate -s 512M a.img b.img
put_random a.img 0 200
put_random b.img 0 100
dd if=a.img of=b.img bs=1M count=100 skip=48 seek=200 conv=notrunc status=none

# 1. Two backups at once (sharing 100 MiB of chunks).
vmb backup --image a=a.img > a.out 2>&1 & pa=$!
vmb backup --image b=b.img > b.out 2>&1 & pb=$!
wait $pa || { cat a.out; fail "concurrent backup a failed"; }
wait $pb || { cat b.out; fail "concurrent backup b failed"; }
vmb verify | tail -1 | grep -q "verified 2 backups.*: 0 problems" || fail "verify after concurrent backups"
# 50 chunks of a, 25 of b's own: the 25 both have are stored once.
n=$(find "$VMBACKUP_REPO/chunks" -type f | wc -l)
[ "$n" -eq 75 ] || fail "concurrent backups stored $n chunks, not 75"

# 2. Make every chunk of a unreferenced (prune), then back up a again
#    while gc runs over and over: the new backup reuses those chunks, and
#    gc must not delete them under it.
vmb prune a --keep-last 1 >/dev/null   # keeps a: nothing removed yet
rm -f "$VMBACKUP_REPO"/backups/a/*     # forget a by hand: its chunks are garbage now
sleep 2.5                              # older than any gc cutoff
vmb backup --image a=a.img > a2.out 2>&1 & pa=$!
# gc runs over and over from the moment the backup has registered as a
# writer until it ends, so gcs land while it refreshes chunks.  (Not
# SIGSTOP: a backup stopped while it holds a chunk-prefix lock would
# make gc wait for ever.)
while [ -z "$(ls -A "$VMBACKUP_REPO/locks/writers")" ]; do
  kill -0 $pa 2>/dev/null || break
done
gcs=0
while kill -0 $pa 2>/dev/null; do
  vmb gc > gc.out 2>&1 || { grep -q "another gc" gc.out || { cat gc.out; fail "gc failed"; }; }
  gcs=$((gcs + 1))
done
wait $pa || { cat a2.out; fail "backup during gc failed"; }
[ $gcs -ge 1 ] || fail "no gc ran while the backup was registered"
vmb verify | tail -1 | grep -q "verified 2 backups.*: 0 problems" || fail "gc during backup lost chunks"
vmb restore a --to a.out.img >/dev/null && cmp a.img a.out.img || fail "restore after gc"

# 3. Two gcs at once: each either runs or says another one is running,
#    and the repository stays whole.
vmb gc > gc1.out 2>&1 & p1=$!
vmb gc > gc2.out 2>&1 & p2=$!
for p in $p1 $p2; do
  wait $p && continue
  grep -q "another gc" gc1.out gc2.out || { cat gc1.out gc2.out; fail "concurrent gc failed"; }
done
vmb verify | tail -1 | grep -q "verified 2 backups.*: 0 problems" || fail "verify after concurrent gcs"
# 4. A backup stopped while it holds a chunk directory's lock (^Z at the
#    wrong moment; held here by a helper for 2 s): gc says what it waits
#    for, waits, and then finishes.
python3 - "$VMBACKUP_REPO/locks/chunks" > holder.out <<'PY' & holder=$!
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
# struct flock: l_type, l_whence, l_start, l_len, l_pid; byte 0x00 shared.
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 1, 0))
print("held", flush=True)
time.sleep(2)
print("released", flush=True)
os.close(fd)
PY
for _ in $(seq 100); do [ -s holder.out ] && break; sleep 0.05; done
[ -s holder.out ] || fail "the lock holder did not start"
vmb gc > gc4.out 2> gc4.err || fail "gc with a held directory: $(cat gc4.err)"
grep -q "^vmbackup: gc: waiting for a backup that is using chunks/00 " gc4.err ||
  fail "gc did not say what it waited for: $(cat gc4.err)"
grep -q released holder.out || fail "gc did not wait for the held directory"
wait $holder
echo OK
