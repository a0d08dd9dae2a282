#!/usr/bin/env bash
# Two runs of one job never overlap: while a run is going (held here in
# its notify command, after a failing target), a second run says so in
# one line and exits 1 without backing anything up; once the first
# ends, the next run goes ahead.  A killed run leaves no lock behind.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd

cd "$scratch"
vmb init >/dev/null
export VMBACKUP_JOBS_DIR="$scratch/jobs" VMBACKUP_JOBS_STATE_DIR="$scratch/state"
mkdir jobs
truncate -s 4M ok.img
cat > jobs/slow.conf <<EOC
repository = $VMBACKUP_REPO
image = ok=$scratch/ok.img
image = gone=$scratch/missing.img
notify = touch $scratch/notifying; while [ ! -e $scratch/release ]; do sleep 0.1; done
EOC

"$VMBACKUP" job run slow > first.out 2> first.err &
first=$!
cleanup_fn "kill $first 2>/dev/null"
for _ in $(seq 600); do [ -e notifying ] && break; sleep 0.1; done
[ -e notifying ] || fail "first run never reached notify: $(cat first.out first.err)"
backups=$(vmb list ok | wc -l)

expect_fail 1 "^vmbackup: job slow is already running \(pid $first\); not starting another run$" \
  vmb job run slow
[ "$(wc -l < "$scratch/err")" = 1 ] || fail "more than one line: $(cat "$scratch/err")"
[ ! -s "$scratch/out" ] || fail "refused run printed: $(cat "$scratch/out")"
[ "$(vmb list ok | wc -l)" = "$backups" ] || fail "refused run backed up"

touch release
rc=0; wait $first || rc=$?
[ $rc = 1 ] || fail "first run: exit $rc (a target failed: 1)"
rm -f notifying release

# The lock went with the first run: a new one runs (and fails only for
# its missing image, which notify hears about).
sed -i '/^notify/d' jobs/slow.conf
rc=0; vmb job run slow > third.out 2>&1 || rc=$?
[ $rc = 1 ] && tail -1 third.out | grep -q "^job slow: FAILED, 1 of 2 targets backed up (failed: gone)" \
  || fail "run after the first: exit $rc: $(cat third.out)"

# A run killed outright leaves nothing that blocks the next.
cat >> jobs/slow.conf <<EOC
notify = echo \$\$ > $scratch/notify.pid; exec sleep 60
EOC
"$VMBACKUP" job run slow > killed.out 2>&1 &
killed=$!
cleanup_fn "kill $killed 2>/dev/null"
for _ in $(seq 600); do [ -s notify.pid ] && break; sleep 0.1; done
[ -s notify.pid ] || fail "killed run never reached notify: $(cat killed.out)"
cleanup_fn "kill $(cat notify.pid) 2>/dev/null"
kill -9 $killed; wait $killed 2>/dev/null || true
sed -i '/^notify/d' jobs/slow.conf
rc=0; vmb job run slow > after.out 2>&1 || rc=$?
grep -q "already running" after.out && fail "lock outlived a killed run"
[ $rc = 1 ] || fail "run after a kill: exit $rc: $(cat after.out)"
