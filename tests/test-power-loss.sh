#!/usr/bin/env bash
# Power loss: what vmbackup reported done survives a power cut, and what
# it had not finished is never listed.
#
# No device-mapper here (nor in CI's container), so no dm-flakey or
# dm-log-writes: every command that writes the repository runs under the
# power-cut shim (tests/crash/powercut_log.c, LD_PRELOAD), which logs how
# to undo each write, create, rename, link, unlink and mkdir before it
# happens, and each fsync/fdatasync/syncfs/sync.  A "power cut" is then
# tests/crash/powercut.py over that log: every change no sync covered is
# lost -- a file's data goes back to its last synced content (O_DIRECT
# writes included), a directory entry whose directory was not synced
# after it is undone, last first.  The cuts take turns with two others
# that keep directory operations (all of them, or up to a random point in
# the log: metadata committed in order, as a journal does) while the data
# behind them is still lost: a chunk name may survive without its data.
#
# Rounds: a backup (image or files, incremental) is SIGKILLed by the shim
# before its Nth operation on the repository (N random, at most a little
# past the end: then it finishes and the cut comes right after its
# success; or, every other round, just before its Nth sync, N up to the
# previous run's count: the moment with the most unsynced), the power is
# cut, and then: no chunk file is damaged, referenced or not (a later
# backup would reuse it); every backup reported done still verifies and
# restores byte-identical; everything listed verifies (no partial
# backup); a new backup succeeds, the power is cut right after it
# printed its ID and that backup restores; gc (itself cut at times) runs
# clean.  VMB_POWERLOSS_SEED and VMB_POWERLOSS_ROUNDS reproduce a run (up
# to the order of the threads).
source "$(dirname "$0")/functions.sh"
in_the_clear  # it checks chunk files by their content in the clear
requires qemu-nbd
requires python3
: "${POWERCUT:=$(dirname "$VMBACKUP")/tests/libpowercut.so}"
[ -f "$POWERCUT" ] || { echo "$0: SKIP: no $POWERCUT (build first)"; exit 77; }
# In an ASan build the shim is instrumented too, and the ASan runtime
# must come first in the preload list.
asan=$(ldd "$POWERCUT" | awk '/libasan/ { print $3 }')
preload="${asan:+$asan }$POWERCUT"
cutter=$(cd "$(dirname "$0")" && pwd)/crash/powercut.py

seed=${VMB_POWERLOSS_SEED:-$(( $(date +%s%N) / 1000 % 1000000 ))}
rounds=${VMB_POWERLOSS_ROUNDS:-20}
echo "power-loss: seed $seed, $rounds rounds (VMB_POWERLOSS_SEED=$seed" \
     "reproduces the crash points)"
RANDOM=$seed

cd "$scratch"
mkdir "$VMBACKUP_REPO" save
export VMB_POWERCUT_REPO=$VMBACKUP_REPO VMB_POWERCUT_SAVE=$scratch/save \
       VMB_POWERCUT_LOG=$scratch/pc.log

# Under the shim; CRASH=N kills it before its Nth repository operation,
# CRASH=sN before its Nth sync.
pc () {
  local at=${CRASH:-0} sync=0
  [ "${at#s}" != "$at" ] && sync=${at#s} at=0
  LD_PRELOAD=$preload VMB_POWERCUT_CRASH_AT=$at \
    VMB_POWERCUT_CRASH_AT_SYNC=$sync "$VMBACKUP" "$@"
}
# Operations logged so far (each of them a possible crash point).
nops () { grep -c '^[WCUMRLNB?] ' pc.log 2>/dev/null || true; }
# Syncs logged so far.
nsyncs () { grep -c '^B ' pc.log 2>/dev/null || true; }

# power_cut KIND: each kind of moment (mid-run, after success) takes
# the three ways of losing in turn; KIND "sync" (just before a sync) the
# harshest there: every name kept, the data behind it lost (losing the
# names too is what a cut anywhere before that sync does).
declare -A ncuts
ncut=0
power_cut () {
  local how=() n=${ncuts[$1]:-0}
  ncut=$((ncut + 1))
  ncuts[$1]=$((n + 1))
  case $1:$((n % 3)) in
    sync:*|*:1) how=(--keep-order all) ;;
    *:2) how=(--keep-order $RANDOM) ;;
  esac
  python3 "$cutter" "$VMBACKUP_REPO" save pc.log "${how[@]}" >>cuts.log \
    2>cut.err || fail "power cut $ncut: $(cat cut.err)"
  rm -rf save pc.log
  mkdir save
}

# done.list: "ID kind sha256" of every backup reported done.
: > done.list
tree_sum () { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1; }
img_sum () { sha256sum < "$1" | cut -d' ' -f1; }

# Mutate the sources a little, as between two backups.
mutate () {
  case $1 in
    image) put_random disk.img $((RANDOM % 15)) 1 ;;
    files) head -c $((RANDOM * 8)) /dev/urandom > "tree/f$((RANDOM % 6))" ;;
  esac
}

# backup KIND [crash point]: the exit code in $rc; a backup reported
# done goes to done.list.
backup () {
  local kind=$1 id sum
  rc=0
  if [ "$kind" = image ]; then
    sum=$(img_sum disk.img)
    CRASH=${2:-0} pc backup --image disk=disk.img >out 2>err || rc=$?
  else
    sum=$(tree_sum tree)
    CRASH=${2:-0} pc files backup --name docs tree >out 2>err || rc=$?
  fi
  if [ $rc = 0 ]; then
    id=$(sed -n 's/^backup \([^:]*\): .*/\1/p' out)
    [ -n "$id" ] || fail "$kind backup printed no ID: $(cat out)"
    echo "$id $kind $sum" >> done.list
  fi
}

restores () {                   # ID KIND SUM
  rm -rf r
  if [ "$2" = image ]; then
    vmb restore "$1" --to r >/dev/null 2>err || fail "restore $1: $(cat err)"
    [ "$(img_sum r)" = "$3" ] || fail "$1 restores other data"
  else
    vmb files restore "$1" --to r >/dev/null 2>err \
      || fail "restore $1: $(cat err)"
    [ "$(tree_sum "r$scratch/tree")" = "$3" ] || fail "$1 restores other files"
  fi
}

# No name in chunks/ points at a chunk a cut damaged, referenced or not
# (the next backup would reuse it): every chunk file has a sound header
# (repository-format(5): magic, header CRC-32C, exact length).
chunk_files_sound () {
  python3 - "$VMBACKUP_REPO/chunks" <<'PY'
import os, struct, sys
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
bad = []
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        with open(p, "rb") as fh:
            h = fh.read(32)
        size = os.path.getsize(p)
        if (len(h) < 32 or h[:8] != b"VMBCHNK1"
                or struct.unpack("<I", h[28:32])[0] != crc32c(h[:28])
                or size != 32 + struct.unpack("<I", h[20:24])[0]):
            bad.append("%s (%d bytes)" % (p[len(sys.argv[1]) + 1:], size))
if bad:
    sys.exit("damaged chunk files: " + ", ".join(bad[:5]))
PY
}

# Everything reported done is listed, everything listed verifies; the
# newest backup reported done, and one other at random, restore.
check () {
  local what=$1 n listed
  chunk_files_sound 2>err || fail "$what: $(cat err)"
  vmb list >list.out 2>err || fail "$what: list: $(cat err)"
  while read -r id _; do
    grep -q "^$id " list.out || fail "$what: reported backup $id is gone"
  done < done.list
  listed=$(($(wc -l < list.out) - 1))
  vmb verify >v.out 2>&1 || fail "$what: verify: $(cat v.out)"
  grep -q "verified $listed backups\?,.*: 0 problems" v.out \
    || fail "$what: verify: $(cat v.out)"
  n=$(wc -l < done.list)
  restores $(tail -1 done.list)
  restores $(sed -n "$((RANDOM % n + 1))p" done.list)
}

# A power cut right after init must leave a working repository.
pc init --encryption none --chunk-size 64K >/dev/null
power_cut done
truncate -s 16M disk.img
put_random disk.img 0 4
put_random disk.img 9 2
mkdir tree
for i in 0 1 2 3; do head -c $((RANDOM * 4)) /dev/urandom > tree/f$i; done

# finished_backup KIND WHAT: a backup that must succeed, its operations
# and syncs counted (the next crash points of its kind), then the power
# cut right after it printed its ID: it must be durable.
declare -A ops syncs
finished_backup () {
  local before=$(nops) sbefore=$(nsyncs)
  backup $1
  [ $rc = 0 ] || fail "$2: $1 backup: $(cat err)"
  ops[$1]=$(( $(nops) - before ))
  syncs[$1]=$(( $(nsyncs) - sbefore ))
  power_cut done
  check "$2: cut after a finished $1 backup"
}

# The baseline.
finished_backup image baseline
finished_backup files baseline

for round in $(seq 1 "$rounds"); do
  kind=$([ $((RANDOM % 2)) = 0 ] && echo image || echo files)
  mutate $kind
  # Up to a tenth past the end (some runs finish, then the cut follows),
  # or just before one of the syncs.
  if [ $((round % 2)) = 0 ]; then
    crash=s$(( RANDOM % syncs[$kind] + 1 )) at=sync
  else
    crash=$(( RANDOM % (ops[$kind] * 11 / 10) + 1 )) at=op
  fi
  backup $kind $crash
  case $rc in
    0) result="finished" ;;
    137) result="killed" ;;
    *) fail "round $round: $kind backup failed: $(cat err)" ;;
  esac
  power_cut "$([ $at = sync ] && echo sync || echo $result)"
  echo "round $round: $kind backup $result at $at ${crash#s} of" \
       "~$([ $at = sync ] && echo "${syncs[$kind]}" || echo "${ops[$kind]}")"
  check "round $round ($kind, cut at $crash)"

  # The next backup succeeds, and is durable once it said so.
  mutate $kind
  finished_backup $kind "round $round"

  if [ $((round % 4)) = 0 ]; then
    # gc, cut at a random point or right after it finished.
    rc=0
    CRASH=$((RANDOM % 300 + 1)) pc gc >out 2>err || rc=$?
    [ $rc = 0 ] || [ $rc = 137 ] || fail "round $round: gc: $(cat err)"
    power_cut gc
    check "round $round: gc cut"
    pc gc >out 2>err || fail "round $round: gc after the cut: $(cat err)"
    power_cut done
    check "round $round: after gc"
  fi
done

# Every backup reported done, restored once more at the end.
while read -r id kind sum; do
  restores "$id" "$kind" "$sum"
done < done.list
echo "power-loss: $(wc -l < done.list) backups reported done survived" \
     "$ncut power cuts"
echo OK
