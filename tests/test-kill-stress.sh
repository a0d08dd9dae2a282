#!/usr/bin/env bash
# Many SIGKILLs at random points: image backups (qcow2 and raw, read by
# qemu-nbd), files backups, prune and gc, gc while a backup runs, and
# image restores (never a partial image at the target's path).
# After 40 kills: only complete backups are listed and each verifies
# clean; every backup reported complete restores byte-identical (unless
# a prune was entitled to delete it: it is not among its name's newest
# KEEP, the only ones 'prune --keep-last KEEP' must keep); after a gc
# the repository's tmp/ is empty; no vmbackup-nbd-* directory and no
# qemu-nbd is left.
# The operations and delays come from a seed, fixed unless
# VMBACKUP_TEST_SEED gives another, and printed: the same seed replays
# the same sequence (where a delay lands still depends on the machine).
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
requires qemu-img
requires sha256sum

cd "$scratch"
export TMPDIR=$scratch/tmp   # ours alone: other runs cannot interfere
mkdir "$TMPDIR"
seed=${VMBACKUP_TEST_SEED:-1204}  # fixed, so a run is repeatable
echo "seed $seed (VMBACKUP_TEST_SEED=$seed replays it)"
RANDOM=$seed
KILLS=40
KEEP=3
start=$SECONDS

vmb init --chunk-size 64K >/dev/null
truncate -s 64M q.raw r.raw
put_random q.raw 0 24
put_random r.raw 8 24
qemu-img convert -f raw -O qcow2 q.raw q.qcow2
mkdir src
for f in a b c d; do head -c $((RANDOM * 64)) /dev/urandom > src/$f; done
head -c 16M /dev/urandom > src/big

# What a backup of each name must restore to, as a checksum of the
# source when the backup ran: the image's bytes, or the tree's files.
tree_sum () { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1; }
source_sum ()
{
  case $1 in
    q) sha256sum < q.raw | cut -d' ' -f1 ;;
    r) sha256sum < r.raw | cut -d' ' -f1 ;;
    f) tree_sum src ;;
  esac
}
# Change a few MiB so that the next backup has new chunks to write.
mutate ()
{
  case $1 in
    q) put_random q.raw $((RANDOM % 60)) 4
       qemu-img convert -f raw -O qcow2 q.raw q.qcow2 ;;
    r) put_random r.raw $((RANDOM % 60)) 4 ;;
    f) head -c $((RANDOM * 128)) /dev/urandom > src/$(printf '%s' abcd | cut -c$((RANDOM % 4 + 1)))
       dd if=/dev/urandom of=src/big bs=1M count=2 seek=$((RANDOM % 15)) conv=notrunc status=none ;;
  esac
}
backup_cmd ()
{
  case $1 in
    q) echo backup --image "q=$scratch/q.qcow2" ;;
    r) echo backup --image "r=$scratch/r.raw" ;;
    f) echo files backup --name f src ;;
  esac
}

declare -A sum     # backup ID -> source checksum, for every complete one
declare -A killed  # name -> the source checksums of its killed backups
declare -A of      # command -> how many times it was killed
complete=()
kills=0
# A backup that finished: its ID (stdout: "backup ID: ...") and source.
record ()
{
  local id
  id=$(awk '/^backup / {sub(/:$/, "", $2); print $2}' "$2")
  [ -n "$id" ] || fail "no backup ID in: $(cat "$2")"
  sum[$id]=$3
  complete+=("$id")
}
# Wait for pid; 137 (SIGKILL) or 0 are the only acceptable ends.
reap ()
{
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  case $rc in
    137) kills=$((kills + 1)); of[${2%% *}]=$((${of[${2%% *}]:-0} + 1)); return 1 ;;
    0) return 0 ;;
    *) fail "round $round: '$2' failed ($rc): $(cat "$3")" ;;
  esac
}
delay () { printf '0.%03d' $((RANDOM % $1)); }

# One complete backup of each name first: the earliest backups, which
# no later kill may damage.
for n in q r f; do
  vmb $(backup_cmd $n) > out || fail "first backup of $n: $(cat out)"
  record $n out "$(source_sum $n)"
done

# A backup of name $1 after a change to its source, in the background:
# sets pid, cmd and now (what it must restore to).
start_backup ()
{
  mutate $1
  cmd=$(backup_cmd $1)
  now=$(source_sum $1)
  "$VMBACKUP" $cmd > out 2>&1 &
  pid=$!
}
# Its end: recorded if it completed, its source kept if it was killed.
end_backup ()
{
  if reap $pid "$cmd" out; then record $1 out "$now"
  else killed[$1]+=" $now"; fi
}
# Run vmbackup ARGS, killed after 0 to $1 ms if it is still running.
run_killed ()
{
  local ms=$1 p
  shift
  "$VMBACKUP" "$@" > out 2>&1 &
  p=$!
  sleep "$(delay $ms)"
  kill -9 $p 2>/dev/null || true
  reap $p "$*" out || true
}

round=0
while [ "$kills" -lt "$KILLS" ]; do
  round=$((round + 1))
  # A fast machine finishes more commands before their kill: about 1
  # round in 5 kills here (38 kills in 200 rounds once); the cap only
  # catches a test that no longer kills at all.
  [ "$round" -le 500 ] || fail "only $kills kills in 500 rounds"
  names=(q r f)
  n=${names[$((RANDOM % 3))]}
  case $((RANDOM % 7)) in
    0|1|2) # a backup, killed after 0 to 0.6 s or left to finish
      start_backup $n
      sleep "$(delay 600)"
      kill -9 $pid 2>/dev/null || true
      end_backup $n ;;
    3) run_killed 150 prune --keep-last $KEEP ;;
    4) run_killed 300 gc ;;
    5) # gc while a backup runs; either, both or neither is killed
      start_backup $n
      sleep "$(delay 200)"
      "$VMBACKUP" gc > gc.out 2>&1 &
      gcpid=$!
      sleep "$(delay 400)"
      case $((RANDOM % 4)) in
        0) kill -9 $pid $gcpid 2>/dev/null || true ;;
        1) kill -9 $pid 2>/dev/null || true ;;
        2) kill -9 $gcpid 2>/dev/null || true ;;
      esac
      reap $gcpid gc gc.out || true
      end_backup $n ;;
    6) # an image restore: never a partial image at its path
      [ $n = f ] && n=q
      id=$(printf '%s\n' "${complete[@]}" | grep "^$n/" | sort | tail -1)
      vmb list | grep -q "^$id " || continue  # pruned since
      "$VMBACKUP" restore "$id" --to rk.img --format raw > out 2>&1 &
      pid=$!
      sleep "$(delay 300)"
      kill -9 $pid 2>/dev/null || true
      reap $pid "restore $id" out || true
      if [ -e rk.img ]; then
        [ "$(sha256sum < rk.img | cut -d' ' -f1)" = "${sum[$id]}" ] \
          || fail "round $round: restore of $id left a wrong rk.img"
        rm rk.img
      fi ;;
  esac
done
# A restore killed before its rename left its temporary file, which the
# next restore to the same path replaces.
vmb restore q --to rk.img --format raw >/dev/null || fail "restore after the kills"
[ -z "$(ls -A | grep vmbackup-partial)" ] || fail "partial restores left: $(ls -A | grep vmbackup-partial)"
what=$(for k in "${!of[@]}"; do echo "$k ${of[$k]}"; done | sort | paste -sd, | sed 's/,/, /g')
echo "$kills kills in $round rounds ($what), ${#complete[@]} complete backups, $((SECONDS - start)) s"

# Nothing of the killed runs is left outside the repository.
for _ in $(seq 1 50); do
  pgrep -f "qemu-nbd.*$scratch/" >/dev/null || break
  sleep 0.1
done
! pgrep -af "qemu-nbd.*$scratch/" || fail "qemu-nbd left running"
[ -z "$(ls -A "$TMPDIR")" ] || fail "left in TMPDIR: $(ls -A "$TMPDIR")"

# Listed: only complete backups.  Each verifies clean, and restores to
# what its name's source held when it ran.  (One that was killed in the
# instant after it committed is complete too, but never reported its
# ID: it must restore to the source of one of the killed backups.)
vmb list | awk 'NR > 1 {print $1}' > listed
vmb verify > verify.out || { cat verify.out; fail "verify"; }
grep -q "verified $(wc -l < listed) backups.*: 0 problems" verify.out \
  || { cat verify.out; fail "verify: $(tail -1 verify.out)"; }
restored=0
for id in $(cat listed); do
  case $id in
    f/*) rm -rf out.d
         vmb files restore "$id" --to out.d >/dev/null || fail "restore $id"
         got=$(tree_sum "out.d$scratch/src") ;;
    *)   rm -f out.img
         vmb restore "$id" --to out.img --format raw >/dev/null || fail "restore $id"
         got=$(sha256sum < out.img | cut -d' ' -f1) ;;
  esac
  if [ -n "${sum[$id]:-}" ]; then
    [ "$got" = "${sum[$id]}" ] || fail "backup $id restores different data"
  else
    n=${id%%/*}
    [[ " ${killed[$n]:-} " == *" $got "* ]] || fail "$id is listed but no backup of $n made it"
    echo "$id: listed, killed right after it completed"
    sum[$id]=$got
    complete+=("$id")
  fi
  restored=$((restored + 1))
done

# prune --keep-last KEEP may have deleted only backups that were not
# among their name's KEEP newest complete ones: those are all listed.
for n in q r f; do
  mapfile -t mine < <(printf '%s\n' "${complete[@]}" | grep "^$n/" | sort)
  for id in "${mine[@]: -$KEEP}"; do
    grep -qx "$id" listed || fail "complete backup $id is gone"
  done
done
echo "$restored listed backups restore byte-identical, ${#complete[@]} completed"

# gc clears every killed writer's leftovers once their start is past.
sleep 2.5
vmb gc > gc.out || fail "gc: $(cat gc.out)"
[ -z "$(ls -A "$VMBACKUP_REPO/tmp")" ] || fail "tmp/ after gc: $(ls -A "$VMBACKUP_REPO/tmp")"
vmb verify > verify.out || { cat verify.out; fail "verify after gc"; }
grep -q "verified $(wc -l < listed) backups.*: 0 problems" verify.out \
  || { cat verify.out; fail "verify after gc"; }
[ -z "$(ls -A "$TMPDIR")" ] || fail "left in TMPDIR: $(ls -A "$TMPDIR")"
echo "OK in $((SECONDS - start)) s"
