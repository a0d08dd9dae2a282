#!/usr/bin/env bash
# A target that fails does not stop the others: they are backed up, the
# run exits 1, names the failed target in its summary, JSON, Prometheus
# file and events (4003, 4002), and runs the notify command with the
# summary.  The last success stays that of the last good run.  A
# repository that cannot be opened fails the run the same visible way.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
requires python3

cd "$scratch"
vmb init >/dev/null
export VMBACKUP_JOBS_DIR="$scratch/jobs" VMBACKUP_JOBS_STATE_DIR="$scratch/state"
mkdir jobs tree
truncate -s 8M a.img; put_random a.img 0 1
echo data > tree/f
cat > jobs/mixed.conf <<EOC
repository = $VMBACKUP_REPO
image = a=$scratch/a.img
files = t=$scratch/tree
concurrency = 2
notify = cat > $scratch/notify.in; env | grep ^VMBACKUP_JOB | sort > $scratch/notify.env
prometheus-file = $scratch/mixed.prom
EOC

# A good run first: notify is for failures only.
vmb job run mixed > good.out || fail "good run: $(cat good.out)"
[ ! -e notify.in ] || fail "notify ran after a good run"
good_finished=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["finished"])' state/mixed.json)

# Now with an image that is gone, between the two good targets.
sed -i "s|^image = a=.*|&\nimage = b=$scratch/missing.img|" jobs/mixed.conf
sleep 1.1
rc=0; vmb job run mixed > bad.out 2> bad.err || rc=$?
[ $rc = 1 ] || fail "run with a failing target: exit $rc"
summary="job mixed: FAILED, 2 of 3 targets backed up (failed: b)"
tail -1 bad.out | grep -q "^$summary, " || fail "summary: $(cat bad.out)"
grep -q "^vmbackup: backup b: $scratch/missing.img: No such file or directory$" bad.err \
  || fail "the target's own error: $(cat bad.err)"
[ "$(vmb list a | tail -n +2 | wc -l)" = 2 ] || fail "a not backed up past the failure"
[ "$(vmb list t | tail -n +2 | wc -l)" = 2 ] || fail "t not backed up past the failure"
[ -z "$(vmb list b | tail -n +2)" ] || fail "b listed"

# notify: the summary on its input, and the environment.
[ "$(cat notify.in)" = "$(tail -1 bad.out)" ] || fail "notify input: $(cat notify.in)"
grep -qx "VMBACKUP_JOB=mixed" notify.env && grep -qx "VMBACKUP_JOB_STATUS=failed" notify.env \
  && grep -qx "VMBACKUP_JOB_JSON=$scratch/state/mixed.json" notify.env \
  && grep -qx "VMBACKUP_JOB_SUMMARY=$(tail -1 bad.out)" notify.env \
  || fail "notify environment: $(cat notify.env)"

python3 - state/mixed.json "$good_finished" <<'EOP' || fail "JSON: $(cat state/mixed.json)"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["status"] == "failed" and s["failed"] == 1, s
assert s["last_success"] == int(sys.argv[2]) < s["finished"], s
t = {x["name"]: x for x in s["targets"]}
assert t["b"]["status"] == "failed" and t["b"]["exit_status"] == 1, t
assert t["b"]["backup"] is None, t
assert t["a"]["status"] == "ok" and t["t"]["status"] == "ok", t
EOP
grep -qE '^vmbackup_job_success\{job="mixed"\} 0$' mixed.prom || fail "prom: $(cat mixed.prom)"
grep -qE '^vmbackup_job_target_success\{job="mixed",target="b",kind="image"\} 0$' mixed.prom \
  || fail "prom target b"
grep -qE '^vmbackup_job_target_success\{job="mixed",target="a",kind="image"\} 1$' mixed.prom \
  || fail "prom target a"
grep -qE "^vmbackup_job_last_success_timestamp_seconds\{job=\"mixed\"\} $good_finished$" mixed.prom \
  || fail "prom last success moved"
vmb events mixed > ev.out
grep -qE "error +4003 mixed +image b: exit status 1$" ev.out || fail "event 4003: $(cat ev.out)"
grep -qE "error +4002 mixed +job mixed: 1 of 3 targets failed$" ev.out || fail "event 4002: $(cat ev.out)"

# A notify command that fails is a warning and event 4006, not a crash.
sed -i 's|^notify = .*|notify = exit 3|' jobs/mixed.conf
rc=0; vmb job run mixed > n.out 2> n.err || rc=$?
[ $rc = 1 ] || fail "exit $rc"
grep -q "^vmbackup: warning: job mixed: notify command failed: exit status 3$" n.err \
  || fail "notify failure: $(cat n.err)"
vmb events mixed | grep -qE "warning +4006 mixed +notify: exit status 3$" || fail "no 4006"

# The repository cannot be opened: the run fails before any target, and
# says so everywhere an admin looks.
sed -i "s|^repository = .*|repository = $scratch/nowhere|; s|^notify = .*|notify = cat > $scratch/notify2.in|" jobs/mixed.conf
rc=0; vmb job run mixed > r.out 2> r.err || rc=$?
[ $rc = 1 ] || fail "unreachable repository: exit $rc"
[ "$(tail -1 r.out)" = "job mixed: FAILED, repository $scratch/nowhere: cannot be opened" ] \
  || fail "summary: $(cat r.out)"
grep -q "^vmbackup: .*nowhere" r.err || fail "no error naming the repository: $(cat r.err)"
[ "$(cat notify2.in)" = "$(tail -1 r.out)" ] || fail "notify not run for an unreachable repository"
grep -q '"status":"failed"' state/mixed.json || fail "JSON not written"
