#!/usr/bin/env bash
# restore --to PATH --resume: a restore killed (SIGKILL) or failed in the
# middle keeps its partial image and a progress record, and the same
# command goes on from the recorded chunk.  That it really goes on, and
# does not start again, is shown by taking away the chunks before that
# point: only a resumed restore can still succeed, and its image is
# byte-identical to the source.  A record that is damaged or for another
# restore is not trusted, and a restore without --resume starts afresh.
source "$(dirname "$0")/functions.sh"
requires qemu-img
requires qemu-nbd
requires python3

cd "$scratch"
# In the clear, so the test can find the chunk of each offset.
in_the_clear
vmb init --encryption none --chunk-size 1M >/dev/null
truncate -s 64M disk.img
put_random disk.img 0 60 # 64 chunks, the last four zero
vmb backup --image d=disk.img >/dev/null
idx=$(ls repo/indexes/*.idx)

# The chunk files of disk MiB [$1, $2), one per line.
chunks_between ()
{
  python3 - "$idx" "$1" "$2" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
for i in range(int(sys.argv[2]), int(sys.argv[3])):
    d = data[64 + 32 * i: 64 + 32 * (i + 1)].hex()
    print(f"repo/chunks/{d[:2]}/{d}")
PY
}
# Move chunks [$1, $2) out of the repository, or back.
hide () { mkdir -p hidden; chunks_between "$1" "$2" | xargs -I{} mv {} hidden/; }
unhide ()
{
  local c
  for c in $(chunks_between 0 64); do
    [ -e "hidden/$(basename "$c")" ] && mv "hidden/$(basename "$c")" "$c"
  done
  return 0
}
# The chunks the record of out.$1 says are done.
recorded () { awk '{print $6}' ".out.$1.vmbackup-partial.progress" 2>/dev/null; }

# A restore paused (a test hook) before it writes chunk $2, once its
# record says every chunk before it is durable, then killed with -9.
kill_at ()
{
  local fmt=$1 at=$2 pid i
  rm -f pause
  VMBACKUP_TEST_RESTORE_PAUSE_AT=$at VMBACKUP_TEST_RESTORE_PAUSE_FILE=$scratch/pause \
    "$VMBACKUP" restore d --to "out.$fmt" --format "$fmt" --resume \
    > /dev/null 2>&1 &
  pid=$!
  for i in $(seq 300); do
    [ "$(recorded "$fmt")" = "$at" ] && break
    kill -0 $pid 2>/dev/null || fail "$fmt: the restore ended before chunk $at"
    sleep 0.1
  done
  [ "$(recorded "$fmt")" = "$at" ] ||
    fail "$fmt: no record of $at chunks done: $(cat ".out.$fmt.vmbackup-partial.progress")"
  # Another restore to the same path meanwhile, resumable or not, is
  # refused and takes nothing away from this one.
  expect_fail 1 "another restore to out.$fmt is running" \
    vmb restore d --to "out.$fmt" --format "$fmt" --resume
  expect_fail 1 "another restore to out.$fmt is running" \
    vmb restore d --to "out.$fmt" --format "$fmt"
  [ "$(recorded "$fmt")" = "$at" ] || fail "$fmt: the record changed under the restore"
  kill -9 $pid
  wait $pid 2>/dev/null || true
  rm -f pause
  [ ! -e "out.$fmt" ] || fail "$fmt: a killed restore left out.$fmt"
  [ -f ".out.$fmt.vmbackup-partial" ] || fail "$fmt: the partial image is gone"
}

# raw and qcow2: killed at chunk 40, resumed without chunks 0-39.
for fmt in raw qcow2; do
  kill_at $fmt 40
  hide 0 40
  vmb restore d --to "out.$fmt" --format $fmt --resume > out 2>&1 ||
    fail "$fmt: the resumed restore failed: $(cat out)"
  unhide
  ev=$(vmb events)
  grep -qE "info +2003 +d .*disk d: goes on from chunk 40 of 64 \(62%\)" <<< "$ev" ||
    fail "$fmt: no event 2003: $(tail -3 <<< "$ev")"
  : > "$VMBACKUP_EVENT_LOG" # the next format must say it again
  qemu-img compare -q -F $fmt disk.img "out.$fmt" ||
    fail "$fmt: the resumed image differs"
  [ ! -e ".out.$fmt.vmbackup-partial" ] && [ ! -e ".out.$fmt.vmbackup-partial.progress" ] ||
    fail "$fmt: the partial image or its record outlived the restore"
done
qemu-img check -q -f qcow2 out.qcow2 || fail "the resumed qcow2 image is not clean"
rm -f out.raw out.qcow2

# A restore that fails (a chunk is missing at 50) keeps what it wrote,
# recorded up to the chunk it could not read; once the chunk is back,
# it goes on from there.
hide 50 51
expect_fail 1 "restore d.*offset 52428800" vmb restore d --to out.raw --resume
[ "$(recorded raw)" = 50 ] || fail "a failed restore recorded $(recorded raw) chunks, not 50"
unhide
hide 0 50
vmb restore d --to out.raw --resume >/dev/null || fail "the restore after a failure did not go on"
unhide
cmp disk.img out.raw || fail "the restore resumed after a failure differs"
rm -f out.raw

# Without --resume, a partial image and its record are not used, and a
# failed restore leaves nothing.
kill_at raw 40
hide 0 40
expect_fail 1 "restore d" vmb restore d --to out.raw
unhide
[ ! -e .out.raw.vmbackup-partial ] && [ ! -e .out.raw.vmbackup-partial.progress ] ||
  fail "a restore without --resume kept a partial image"

# The restore started afresh: it failed on one of the hidden chunks 0-39
# (whichever of the workers, which start on the first chunks together,
# reported first), not past them.
fails_from_start ()
{
  local off
  expect_fail 1 "restore d.*offset [0-9]+:" vmb restore d --to out.raw --resume
  off=$(grep -oE 'offset [0-9]+:' "$scratch/err" | grep -m1 -oE '[0-9]+')
  [ "$off" -lt $((40 << 20)) ] || fail "the restore went on from offset $off: $(cat "$scratch/err")"
}

# A record it did not write, or for another disk or format, is not
# trusted: the restore starts afresh (and so needs chunks 0-39).  The
# partial image stays each time (--resume), for the next record.
kill_at raw 40
for forged in "garbage" \
  "vmbackup-restore-progress 1 $(printf '%064d' 0) raw 64 40" \
  "vmbackup-restore-progress 1 $(basename "$idx" .idx) qcow2 64 40" \
  "vmbackup-restore-progress 1 $(basename "$idx" .idx) raw 65 40" \
  "vmbackup-restore-progress 1 $(basename "$idx" .idx) raw 64 65"; do
  [ -f .out.raw.vmbackup-partial ] || fail "no partial image to go on from"
  echo "$forged" > .out.raw.vmbackup-partial.progress
  hide 0 40
  fails_from_start
  unhide
done
# A partial image with another name too (a hard link to someone's file)
# is not written into: the restore starts afresh, the file is as it was.
cp .out.raw.vmbackup-partial victim
sum=$(md5sum < victim)
rm .out.raw.vmbackup-partial
ln victim .out.raw.vmbackup-partial
echo "vmbackup-restore-progress 1 $(basename "$idx" .idx) raw 64 40" > .out.raw.vmbackup-partial.progress
hide 0 40
fails_from_start
unhide
[ "$(md5sum < victim)" = "$sum" ] || fail "a restore wrote into a hard-linked partial image"
vmb restore d --to out.raw --resume >/dev/null || fail "the restore after forged records"
cmp disk.img out.raw || fail "the restore after forged records differs"

expect_fail 2 "--resume goes with --to" vmb restore d --resume

# --bandwidth paces the data chunks (60 MiB here; the four zero chunks
# are free): at 20 MiB/s, after a first burst of one chunk per worker
# (at most 16), no faster than 44 MiB / 20 MiB/s = 2.2 s.  It still
# goes on from a record (the kill above, paced).
rm -f out.raw
start=$(date +%s.%N)
vmb restore d --to out.raw --bandwidth 20 >/dev/null || fail "restore --bandwidth"
took=$(echo "$(date +%s.%N) - $start" | bc)
echo "60 MiB at --bandwidth 20: $took s"
[ "$(echo "$took >= 2.2" | bc)" = 1 ] || fail "--bandwidth 20 took only $took s for 60 MiB"
cmp disk.img out.raw || fail "the paced restore differs"
rm -f out.raw
VMBACKUP_TEST_RESTORE_PAUSE_AT=30 VMBACKUP_TEST_RESTORE_PAUSE_FILE=$scratch/pause-bw \
  "$VMBACKUP" restore d --to out.raw --resume --bandwidth 200 > bw.out 2>&1 &
pid=$!
for _ in $(seq 300); do
  [ "$(awk '{print $6}' .out.raw.vmbackup-partial.progress 2>/dev/null)" = 30 ] && break
  sleep 0.1
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
rm -f "$scratch/pause-bw"
vmb restore d --to out.raw --resume --bandwidth 200 > bw2.out || fail "paced resume: $(cat bw2.out)"
grep -q "^resuming: disk d: goes on from chunk 30 of 64" bw2.out || fail "paced resume: $(cat bw2.out)"
cmp disk.img out.raw || fail "the paced, resumed restore differs"
expect_fail 2 "--bandwidth goes with --instant, or --to PATH for a disk" vmb restore d --bandwidth 5
expect_fail 2 "--bandwidth goes with --instant, or --to PATH for a disk" \
  vmb restore d --file x --to y --bandwidth 5
echo "ok"
