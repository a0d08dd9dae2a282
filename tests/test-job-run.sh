#!/usr/bin/env bash
# vmbackup job run: an image and a file tree backed up into a local
# encrypted repository with the key the job file names, each target's
# backups pruned to the job's keep-last, verify on its cadence, and the
# run reported as a one-line summary, a JSON summary, a Prometheus file
# and events 4000/4001.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
requires python3

cd "$scratch"
vmb init >/dev/null
key=$VMBACKUP_KEY_FILE
# The job's key-file is the only key source the run has.
unset VMBACKUP_KEY_FILE
export VMBACKUP_JOBS_DIR="$scratch/jobs" VMBACKUP_JOBS_STATE_DIR="$scratch/state"
mkdir jobs tree
truncate -s 16M disk.img
put_random disk.img 0 2
echo "first" > tree/a
cat > jobs/nightly.conf <<EOC
# what a real job looks like
repository = $VMBACKUP_REPO
key-file   = $key
image = disk=$scratch/disk.img
files = etc=$scratch/tree
files-exclude = *.tmp
keep-last = 1
verify = 1d
prometheus-file = $scratch/nightly.prom
EOC

vmb job list > list.out
grep -qE "^nightly +$VMBACKUP_REPO: image disk, files etc$" list.out \
  || fail "job list: $(cat list.out)"
vmb job show nightly > show.out
grep -qx "keep-last = 1" show.out && grep -qx "concurrency = 1" show.out \
  && grep -qx "verify = 24h" show.out || fail "job show: $(cat show.out)"

vmb job run nightly > run1.out || fail "first run failed: $(cat run1.out)"
tail -1 run1.out | grep -qE "^job nightly: ok, 2 of 2 targets backed up, .* new, 0 pruned, verified 2 backups: 0 problems, [0-9.]+ s$" \
  || fail "summary of run 1: $(cat run1.out)"
sleep 1.1                                    # distinct backup IDs
put_random disk.img 4 2
echo "second" > tree/a
touch tree/junk.tmp
vmb job run nightly > run2.out || fail "second run failed: $(cat run2.out)"
# Verify ran a day ago or less: not this time.  One old backup per
# target pruned.
tail -1 run2.out | grep -qE "^job nightly: ok, 2 of 2 targets backed up, .* new, 2 pruned, [0-9.]+ s$" \
  || fail "summary of run 2: $(cat run2.out)"

[ "$(vmb --key-file "$key" list disk | tail -n +2 | wc -l)" = 1 ] \
  || fail "disk not pruned to 1: $(vmb --key-file "$key" list disk)"
[ "$(vmb --key-file "$key" list etc | tail -n +2 | wc -l)" = 1 ] \
  || fail "etc not pruned to 1"
disk_id=$(vmb --key-file "$key" list disk | awk 'NR==2 {print $1}')
etc_id=$(vmb --key-file "$key" list etc | awk 'NR==2 {print $1}')
# What is kept is the second run's: the image as it is now, the tree
# without the excluded file.
vmb --key-file "$key" restore "$disk_id" --to r.img >/dev/null
cmp disk.img r.img || fail "kept disk backup is not the newest"
vmb --key-file "$key" files restore "$etc_id" --to out >/dev/null
[ "$(cat "out$scratch/tree/a")" = second ] || fail "kept files backup is not the newest"
[ -z "$(find out -name junk.tmp)" ] || fail "files-exclude not applied"

python3 - "$scratch/state/nightly.json" "$disk_id" "$etc_id" <<'EOP' || fail "JSON summary: $(cat state/nightly.json)"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["job"] == "nightly" and s["status"] == "ok", s
assert s["failed"] == 0 and s["pruned"] == 2, s
assert s["last_success"] == s["finished"] > 0, s
assert s["verify"]["ran"] is False and s["last_verify"] > 0, s
t = {x["name"]: x for x in s["targets"]}
assert t["disk"]["kind"] == "image" and t["disk"]["backup"] == sys.argv[2], t
assert t["etc"]["kind"] == "files" and t["etc"]["backup"] == sys.argv[3], t
assert t["disk"]["size"] == 16 << 20 and t["disk"]["stored_new"] > 0, t
assert all(x["status"] == "ok" and x["exit_status"] == 0 for x in t.values())
assert s["summary"].startswith("job nightly: ok"), s
EOP

prom=nightly.prom
grep -qE '^vmbackup_job_success\{job="nightly"\} 1$' $prom || fail "prom success: $(cat $prom)"
grep -qE '^vmbackup_job_last_success_timestamp_seconds\{job="nightly"\} [1-9][0-9]+$' $prom \
  || fail "prom last success"
grep -qE '^vmbackup_job_duration_seconds\{job="nightly"\} [0-9.]+$' $prom || fail "prom duration"
grep -qE '^vmbackup_job_target_success\{job="nightly",target="disk",kind="image"\} 1$' $prom \
  || fail "prom per target"
grep -qE '^vmbackup_job_target_stored_new_bytes\{job="nightly",target="disk",kind="image"\} [1-9][0-9]*$' $prom \
  || fail "prom target bytes: $(cat $prom)"
grep -q "^# TYPE vmbackup_job_stored_new_bytes gauge$" $prom || fail "prom TYPE lines"
[ "$(stat -c %a $prom)" = 644 ] || fail "prom file not readable by the collector"

vmb events nightly > ev.out
[ "$(grep -cE "info +4000 nightly " ev.out)" = 2 ] || fail "events 4000: $(cat ev.out)"
[ "$(grep -cE "info +4001 nightly " ev.out)" = 2 ] || fail "events 4001: $(cat ev.out)"

# verify = always verifies every run, and a verify problem fails the run.
sed -i 's/^verify = 1d/verify = always/' jobs/nightly.conf
vmb job run nightly > run3.out || fail "third run: $(cat run3.out)"
tail -1 run3.out | grep -q "verified 2 backups: 0 problems" || fail "verify always: $(cat run3.out)"

# password-file: the job's passphrase opens the repository, and replaces
# whatever key source the environment has.
VMBACKUP_NEW_PASSWORD="job pass phrase" vmb --key-file "$key" key add --label job >/dev/null
echo "job pass phrase" > pw
sed -i "s|^key-file .*|password-file = $scratch/pw|" jobs/nightly.conf
VMBACKUP_PASSWORD="wrong" vmb job run nightly > pw.out 2> pw.err \
  || fail "password-file run: $(cat pw.out pw.err)"
tail -1 pw.out | grep -q "^job nightly: ok, 2 of 2 targets backed up" || fail "password-file: $(cat pw.out)"
echo "not it" > pw
rc=0; vmb job run nightly > bad.out 2> bad.err || rc=$?
[ $rc = 1 ] && tail -1 bad.out | grep -q "^job nightly: FAILED, repository $VMBACKUP_REPO: cannot be opened$" \
  || fail "wrong passphrase: exit $rc: $(cat bad.out bad.err)"
