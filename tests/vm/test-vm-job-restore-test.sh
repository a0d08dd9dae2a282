#!/usr/bin/env bash
# A job that asks for a restore test (restore-test = always) boots each
# VM backup the run made as an isolated throw-away VM after backing it
# up, runs the job's checks, removes it, and says so in its summary, JSON
# and Prometheus file; a check that fails fails the run (exit 1, event
# 4007, notify), and the original VM keeps running throughout.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

define_guest jr-good
start_guest jr-good
wait_agent jr-good
export VMBACKUP_JOBS_DIR=$scratch/jobs VMBACKUP_JOBS_STATE_DIR=$scratch/state
mkdir -p jobs
cat > jobs/proof.conf <<EOC
repository = $VMBACKUP_REPO
vm = jr-good
restore-test = always
restore-test-check = agent
restore-test-check = exec:grep -q "test guest jr-good" /data/seed.txt
prometheus-file = $scratch/proof.prom
notify = cat > $scratch/notified
EOC
vmb job run proof > run.out 2>&1 || fail "job run: $(cat run.out)"
tail -1 run.out | grep -q "^job proof: ok, 1 of 1 target backed up, .*, restore test passed (1 backup), " \
  || fail "summary: $(tail -1 run.out)"
python3 - state/proof.json <<'EOP' || fail "JSON: $(cat state/proof.json)"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["restore_test"] == {"ran": True, "backups": 1}, j["restore_test"]
assert j["last_restore_test"] >= j["started"], j
EOP
grep -q '^vmbackup_job_last_restore_test_timestamp_seconds{job="proof"} [1-9]' proof.prom \
  || fail "prometheus: $(grep restore proof.prom)"
[ "$(vsh domstate jr-good)" = running ] || fail "the original stopped"
[ -z "$(vsh list --all --name | grep '^rt-')" ] || fail "a throw-away VM was left"
[ ! -e notified ] || fail "notify ran on success"

# A check that fails: the run fails, says why, runs notify.
sed -i 's|^restore-test-check = exec:.*|restore-test-check = exec:false|' jobs/proof.conf
rc=0; vmb job run proof > bad.out 2>&1 || rc=$?
[ $rc = 1 ] || fail "a failed restore test: exit $rc: $(cat bad.out)"
tail -1 bad.out | grep -q "^job proof: FAILED, 1 of 1 target backed up, .*, restore test failed, " \
  || fail "summary: $(tail -1 bad.out)"
grep -q "restore test failed" notified || fail "notify: $(cat notified 2>/dev/null)"
vmb events proof | grep -qE "error +4007 " || fail "no event 4007: $(vmb events proof)"
[ "$(vsh domstate jr-good)" = running ] || fail "the original stopped"

# A check with a typo fails the job file, naming the line.
sed -i 's|^restore-test-check = exec:false|restore-test-check = tcp:0|' jobs/proof.conf
expect_fail 1 "proof.conf:5: restore-test-check: bad check 'tcp:0'" vmb job show proof
echo OK
