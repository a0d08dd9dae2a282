#!/usr/bin/env bash
# The power-cut shim and cutter (tests/crash/) do what test-power-loss.sh
# relies on: what no sync covered is lost, what one covered is kept.
# Driven by coreutils under the shim (sync FILE is fsync, sync -f is
# syncfs, sync DIR fsyncs the directory).
source "$(dirname "$0")/functions.sh"
requires python3
: "${POWERCUT:=$(dirname "$VMBACKUP")/tests/libpowercut.so}"
[ -f "$POWERCUT" ] || { echo "$0: SKIP: no $POWERCUT (build first)"; exit 77; }
# In an ASan build the shim is instrumented too, and the ASan runtime
# must come first in the preload list.
asan=$(ldd "$POWERCUT" | awk '/libasan/ { print $3 }')
preload="${asan:+$asan }$POWERCUT"
# (the programs under the shim here are not ours: their leaks are not
# this test's business)
[ -n "$asan" ] && export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
cutter=$(cd "$(dirname "$0")" && pwd)/crash/powercut.py

cd "$scratch"
mkdir d save
export VMB_POWERCUT_REPO=$scratch/d VMB_POWERCUT_SAVE=$scratch/save \
       VMB_POWERCUT_LOG=$scratch/pc.log
sh_pc () { LD_PRELOAD=$preload sh -c "$1"; }
cut () {
  python3 "$cutter" d save pc.log "$@" >/dev/null || fail "cutter failed"
  rm -rf save pc.log
  mkdir save
}
is () {                         # FILE CONTENT|- (- for absent)
  if [ "$2" = - ]; then
    [ ! -e "$1" ] || fail "$1 survived the cut"
  else
    [ "$(cat "$1" 2>/dev/null)" = "$2" ] || fail "$1 is '$(cat "$1" 2>&1)', not '$2'"
  fi
}

# Nothing synced: the file goes.
sh_pc 'echo a > d/f1'
cut
is d/f1 -
# The file synced, its directory not: its name goes.
sh_pc 'echo a > d/f2; sync d/f2'
cut
is d/f2 -
# Both synced: kept.  Then rewritten without a sync: back to "a".
sh_pc 'echo a > d/f3; sync d/f3; sync d'
cut
is d/f3 a
sh_pc 'echo b > d/f3; echo more >> d/f3'
cut
is d/f3 a
# An unsynced rename and unlink come undone; a removed directory back.
sh_pc 'mkdir d/sub; echo c > d/f4; echo x > d/f7; sync -f d'
sh_pc 'mv d/f4 d/f5; rm d/f7; rmdir d/sub; mkdir d/new; echo n > d/new/f'
cut
is d/f4 c
is d/f5 -
is d/f7 x
[ -d d/sub ] || fail "rmdir survived the cut"
[ ! -e d/new ] || fail "mkdir survived the cut"
# syncfs covers everything before it, nothing after it.
sh_pc 'echo e > d/f6; sync -f d/f6; echo late > d/f8'
cut
is d/f6 e
is d/f8 -
# A rename over a file: the old one comes back.
sh_pc 'echo new > d/f9; mv d/f9 d/f6'
cut
is d/f6 e
is d/f9 -
# Names kept in order, data lost: the name stays with nothing behind it.
sh_pc 'echo g > d/g; mv d/g d/h'
cut --keep-order all
is d/g -
[ -e d/h ] && [ ! -s d/h ] || fail "keep-order: d/h should exist, empty"
# A crash before the Nth operation: the operations after it never ran.
rc=0
(LD_PRELOAD=$preload VMB_POWERCUT_CRASH_AT=3 \
  sh -c 'echo 1 > d/k1; echo 2 > d/k2; echo 3 > d/k3'; exit $?) 2>/dev/null \
  || rc=$?
[ $rc != 0 ] || fail "the crash point did not kill"
[ -e d/k1 ] && [ ! -e d/k2 ] || fail "crash at 3: $(ls d)"
echo OK
