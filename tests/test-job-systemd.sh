#!/usr/bin/env bash
# The shipped units pass 'systemd-analyze verify' as an instance
# (vmbackup@nightly.service and .timer), pointing at the vmbackup built
# here, and with a drop-in that changes the timer's schedule the way
# docs/vmbackup-jobs.pod tells an admin to.  Warnings count as failures.
source "$(dirname "$0")/functions.sh"
requires systemd-analyze

units="$(cd "$(dirname "$0")/.." && pwd)/systemd"
cd "$scratch"
mkdir unit
sed "s|@bindir@/vmbackup|$VMBACKUP|" "$units/vmbackup@.service.in" > unit/vmbackup@.service
cp "$units/vmbackup@.timer" unit/
grep -q "^ExecStart=$VMBACKUP job run %i$" unit/vmbackup@.service || fail "ExecStart: $(cat unit/vmbackup@.service)"
grep -q "^WantedBy=timers.target$" unit/vmbackup@.timer || fail "timer not installable"
cp unit/vmbackup@.service unit/vmbackup@nightly.service
cp unit/vmbackup@.timer unit/vmbackup@nightly.timer

verify ()
{
  local rc=0
  # --man=no: the man pages are not installed where the test runs.
  SYSTEMD_UNIT_PATH="$scratch/unit:" systemd-analyze verify --man=no \
    "$scratch/unit/vmbackup@nightly.service" "$scratch/unit/vmbackup@nightly.timer" \
    > verify.out 2>&1 || rc=$?
  [ $rc = 0 ] && [ ! -s verify.out ] || fail "systemd-analyze verify ($rc): $(cat verify.out)"
}
verify

mkdir unit/vmbackup@nightly.timer.d
cat > unit/vmbackup@nightly.timer.d/schedule.conf <<EOC
[Timer]
OnCalendar=
OnCalendar=*-*-* 02:30
EOC
verify
systemd-analyze calendar "*-*-* 02:30" >/dev/null || fail "the documented schedule does not parse"

# And the check can fail: a unit with a mistake is reported.
echo "Typo=1" >> unit/vmbackup@nightly.service
rc=0; SYSTEMD_UNIT_PATH="$scratch/unit:" systemd-analyze verify --man=no \
  "$scratch/unit/vmbackup@nightly.service" > bad.out 2>&1 || rc=$?
grep -q "Typo" bad.out || fail "a broken unit passed: $(cat bad.out)"
