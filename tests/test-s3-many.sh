#!/usr/bin/env bash
# Many hosts, one S3 repository, no lock server: three writers back up
# at once, twice each, while gc runs in a loop beside them, over data
# that shares chunks with backups just pruned (the chunks gc wants to
# delete are the ones the writers reuse).  Every finished backup
# restores byte-identical afterwards and verify finds nothing wrong,
# also after a round of writers killed (SIGKILL) at random moments.
# Then a writer stopped past its lease: gc goes on without it after the
# lease time, and the writer, continued, fails rather than commit a
# backup whose chunks may be gone; the next backup succeeds.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires qemu-nbd
start_ceph_repo s3://vmb/many
export VMBACKUP_S3_LEASE=6
vmb init --chunk-size 256K > /dev/null || fail "init"

# Old backups share their chunks with what the writers will store.
# The first one also holds 2 MiB that nothing else holds, so the first
# gc to work has something to delete whenever it gets in; whether the
# shared chunks are still garbage then is the race this test is about.
head -c 12M /dev/urandom > base
cp base old.img
put_random old.img 10 2
vmb backup --image old=$scratch/old.img > /dev/null || fail "old backup 1"
put_random old.img 4 2
put_random old.img 10 2
vmb backup --image old=$scratch/old.img > /dev/null || fail "old backup 2"
for w in 1 2 3; do
  cp base w$w.img
  put_random w$w.img $((w * 2)) 1
done

writer ()
{
  local w=$1 round id
  for round in 1 2; do
    put_random w$w.img 9 1
    cp w$w.img w$w.r$round.img
    # Each writer a host of its own: its own index cache.
    XDG_CACHE_HOME=$scratch/cache.$w \
    "$VMBACKUP" backup --image w$w=$scratch/w$w.r$round.img \
      > w$w.r$round.out 2> w$w.r$round.err ||
      { echo "w$w round $round failed: $(cat w$w.r$round.err)" >> failures; continue; }
    id=$(awk '{sub(/:$/, "", $2); print $2; exit}' w$w.r$round.out)
    echo "$id w$w.r$round.img" >> finished.$w
  done
}
gc_loop ()
{
  local i
  for i in 1 2 3; do
    "$VMBACKUP" gc > gc.$i.out 2>&1 || echo "gc $i failed: $(cat gc.$i.out)" >> failures
  done
}

vmb prune old --keep-last 1 > /dev/null || fail "prune"
gc_loop &
gcpid=$!
pids=()
for w in 1 2 3; do writer $w & pids+=($!); done
wait "$gcpid" "${pids[@]}"
[ ! -s failures ] || fail "$(cat failures; cat ./*.out)"
grep -qE "deleted [1-9][0-9]* chunks" gc.*.out || fail "no gc deleted anything: $(cat gc.*.out)"

[ "$(cat finished.* | wc -l)" = 6 ] || fail "finished backups: $(cat finished.*)"

# Writers killed at random moments (with SIGKILL) beside a gc: whatever
# finished is whole; the rest left no backup, only leases gc outlives.
killed_writer ()
{
  local w=$1 pid id
  put_random w$w.img 10 1
  cp w$w.img w$w.k.img
  XDG_CACHE_HOME=$scratch/cache.$w \
    "$VMBACKUP" backup --image w$w=$scratch/w$w.k.img > w$w.k.out 2> w$w.k.err &
  pid=$!
  sleep "0.$((RANDOM % 10))"
  # The backup may have finished first: then there is nothing to kill.
  kill -9 $pid 2>/dev/null || true
  if wait $pid && id=$(awk '{sub(/:$/, "", $2); print $2; exit}' w$w.k.out) &&
     [ -n "$id" ]; then
    echo "$id w$w.k.img" >> finished.$w
  fi
}
pids=()
for w in 1 2 3; do killed_writer $w & pids+=($!); done
"$VMBACKUP" gc > gc.k.out 2>&1 || fail "gc beside killed writers: $(cat gc.k.out)"
wait "${pids[@]}"

cat finished.* > finished
vmb gc > gc-final.out || fail "final gc: $(cat gc-final.out)"
vmb verify > verify.out || fail "verify: $(cat verify.out)"
grep -q "verified $(( $(wc -l < finished) + 1 )) backups, .*: 0 problems" verify.out ||
  fail "verify: $(cat verify.out)"
while read -r id img; do
  vmb restore "$id" --to "r.$img" > /dev/null || fail "restore $id"
  cmp "$img" "r.$img" || fail "backup $id restored differs from $img"
done < finished
vmb restore old --to r.old.img > /dev/null || fail "restore old"
cmp old.img r.old.img || fail "old backup restored differs"

# A writer stopped past its lease no longer holds gc back, and cannot
# commit afterwards.
head -c 40M /dev/urandom > big.img
"$VMBACKUP" backup --image big=$scratch/big.img > big.out 2>&1 &
bigpid=$!
cleanup_fn "kill -CONT $bigpid 2>/dev/null; kill $bigpid 2>/dev/null"
for _ in $(seq 200); do
  "$S3CHECK" $VMBACKUP_REPO list locks/writer- | grep -q . && break
  sleep 0.05
done
kill -STOP $bigpid
"$S3CHECK" $VMBACKUP_REPO list locks/writer- | grep -q . ||
  fail "the stopped backup holds no lease"
start=$(date +%s)
vmb gc > gc-stopped.out 2>&1 || fail "gc beside a stopped backup: $(cat gc-stopped.out)"
took=$(( $(date +%s) - start ))
[ $took -ge 4 ] || fail "gc did not wait for the stopped backup's lease ($took s)"
grep -q "gc: waiting for 1 running backup to finish" gc-stopped.out ||
  fail "gc waited without a word: $(cat gc-stopped.out)"
[ $took -le 40 ] || fail "gc waited $took s for a dead lease of 6 s"
kill -CONT $bigpid
rc=0; wait $bigpid || rc=$?
[ $rc != 0 ] || fail "a backup whose lease lapsed committed: $(cat big.out)"
grep -q "abandoned: lease .* not renewed" big.out || fail "stopped backup: $(cat big.out)"
[ "$(vmb list big | wc -l)" -le 1 ] || fail "the abandoned backup is visible: $(vmb list big)"
vmb backup --image big=$scratch/big.img > /dev/null || fail "backup after the abandoned one"
vmb restore big --to r.big.img > /dev/null || fail "restore big"
cmp big.img r.big.img || fail "big restored differs"
vmb verify > verify2.out || fail "verify at the end: $(cat verify2.out)"
echo OK
