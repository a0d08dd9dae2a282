#!/usr/bin/env bash
# vmbackup job run with copy-to: after its backups a job copies them
# into a second repository with a key of its own (3-2-1), re-encrypted,
# and applies the copy's own retention there (copy-keep-last longer than
# the job's keep-last).  A copy that fails (the copy's key is wrong)
# fails the run with event 4008 and notify, keeps the backup in the
# job's repository, and the next good run catches the copy up.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
requires python3

cd "$scratch"
key=$VMBACKUP_KEY_FILE
vmb init >/dev/null
vmb --repo "$scratch/offsite" --key-file "$scratch/offsite.key" init >/dev/null
unset VMBACKUP_KEY_FILE
export VMBACKUP_JOBS_DIR="$scratch/jobs" VMBACKUP_JOBS_STATE_DIR="$scratch/state"
mkdir jobs
truncate -s 8M disk.img
write_job ()
{
  cat > jobs/nightly.conf <<EOC
repository = $VMBACKUP_REPO
key-file = $key
image = disk=$scratch/disk.img
keep-last = 1
copy-to = $scratch/offsite
copy-key-file = $1
copy-keep-last = 2
notify = cat > $scratch/notify.in
prometheus-file = $scratch/nightly.prom
EOC
}
write_job "$scratch/offsite.key"
vmb job show nightly > show.out
grep -qx "copy-to = $scratch/offsite" show.out && grep -qx "copy-keep-last = 2" show.out \
  && grep -qx "copy-key-file = $scratch/offsite.key" show.out || fail "job show: $(cat show.out)"

offsite () { vmb --repo "$scratch/offsite" --key-file "$scratch/offsite.key" "$@"; }
for run in 1 2 3; do
  put_random disk.img 2 2
  cp disk.img "state$run.img"
  vmb job run nightly > "run$run.out" || fail "run $run failed: $(cat "run$run.out")"
  sleep 1.1                                   # distinct backup IDs
done
# The job's repository keeps 1, the copy 2 (its own rule), each
# reported by the run.
tail -1 run3.out | grep -qE "^job nightly: ok, 1 of 1 target backed up, .* new, 2 backups in the copy, 1 pruned, [0-9.]+ s$" \
  || fail "summary of run 3: $(cat run3.out)"
[ "$(vmb --key-file "$key" list disk | tail -n +2 | wc -l)" = 1 ] || fail "source not pruned to 1"
offsite list disk | awk 'NR > 1 {print $1}' > copy.ids
[ "$(wc -l < copy.ids)" = 2 ] || fail "copy holds $(wc -l < copy.ids) backups, not 2"
# The copy's backups are the newest two, readable with the copy's key
# only, and restore the states the runs saw.
offsite verify >/dev/null || fail "verify of the copy"
offsite restore "$(sed -n 1p copy.ids)" --to r2.img >/dev/null
offsite restore "$(sed -n 2p copy.ids)" --to r3.img >/dev/null
cmp r2.img state2.img && cmp r3.img state3.img || fail "the copy does not restore runs 2 and 3"
[ "$(sed -n 2p copy.ids)" = "$(vmb --key-file "$key" list disk | awk 'NR==2 {print $1}')" ] \
  || fail "the copy's newest backup has another ID than the source's"
vmb --repo "$scratch/offsite" --key-file "$key" list >/dev/null 2>&1 \
  && fail "the job's key opens the copy"
python3 - state/nightly.json "$scratch/offsite" <<'EOP' || fail "JSON: $(cat state/nightly.json)"
import json, sys
s = json.load(open(sys.argv[1]))
c = s["copy"]
assert s["status"] == "ok" and c["ran"] is True and c["to"] == sys.argv[2], s
assert c["backups"] == 2 and "error" not in c, c
EOP
grep -qE '^vmbackup_job_copy_success\{job="nightly"\} 1$' nightly.prom || fail "prom: $(cat nightly.prom)"
[ ! -e notify.in ] || fail "notify ran after good runs"

# The copy's key is wrong: the backup is made and kept, the run fails
# with the copy named, event 4008, notify; the copy is not touched.
write_job "$key"
put_random disk.img 4 2
cp disk.img state4.img
vmb job run nightly > bad.out 2> bad.err && fail "a run whose copy failed exited 0"
tail -1 bad.out | grep -qE "^job nightly: FAILED, 1 of 1 target backed up, .* new, copy failed, 1 pruned, [0-9.]+ s$" \
  || fail "summary of the failed copy: $(cat bad.out)"
grep -q "offsite" bad.err || fail "the copy's error does not name the copy: $(cat bad.err)"
[ "$(cat notify.in)" = "$(tail -1 bad.out)" ] || fail "notify: $(cat notify.in 2>&1)"
vmb events nightly > ev.out
grep -qE "error +4008 nightly +copy to $scratch/offsite: exit status 1 " ev.out || fail "event 4008: $(cat ev.out)"
grep -qE '^vmbackup_job_copy_success\{job="nightly"\} 0$' nightly.prom || fail "prom after failure"
offsite list disk | awk 'NR > 1 {print $1}' | cmp - copy.ids || fail "a failed copy changed the copy"
source_id=$(vmb --key-file "$key" list disk | awk 'NR==2 {print $1}')
vmb --key-file "$key" restore "$source_id" --to r4.img >/dev/null
cmp r4.img state4.img || fail "the run with a failed copy lost its backup"

# Key fixed: the next run copies this run's backup and the one the
# failed run made (which retention has pruned from the source since).
sleep 1.1
write_job "$scratch/offsite.key"
put_random disk.img 6 1
vmb job run nightly > run5.out || fail "run 5 failed: $(cat run5.out)"
offsite list disk | awk 'NR > 1 {print $1}' > copy5.ids
[ "$(wc -l < copy5.ids)" = 2 ] && [ "$(sed -n 2p copy5.ids)" = "$(vmb --key-file "$key" list disk | awk 'NR==2 {print $1}')" ] \
  || fail "the copy after run 5: $(cat copy5.ids)"
offsite restore "$(sed -n 2p copy5.ids)" --to r5.img >/dev/null
cmp r5.img disk.img || fail "run 5's copy does not restore"

# Mistakes in the copy settings are named by file, line and key.
cat > jobs/bad.conf <<EOC
repository = $VMBACKUP_REPO
image = disk=$scratch/disk.img
copy-keep-last = 3
EOC
vmb job run bad > /dev/null 2> bad1.err && fail "copy-keep-last without copy-to accepted"
grep -q "bad.conf: copy-key-file, copy-password-file, copy-keep-\*: only with copy-to" bad1.err \
  || fail "copy-keep without copy-to: $(cat bad1.err)"
cat > jobs/bad.conf <<EOC
repository = $VMBACKUP_REPO
image = disk=$scratch/disk.img
copy-to = $VMBACKUP_REPO
EOC
vmb job run bad > /dev/null 2> bad2.err && fail "copy-to the job's own repository accepted"
grep -q "bad.conf: copy-to: the job's own repository" bad2.err || fail "copy-to itself: $(cat bad2.err)"
cat > jobs/bad.conf <<EOC
repository = $VMBACKUP_REPO
image = disk=$scratch/disk.img
copy-to = $scratch/offsite
copy-key-file = relative.key
EOC
vmb job run bad > /dev/null 2> bad3.err && fail "a relative copy-key-file accepted"
grep -q "bad.conf:4: copy-key-file: 'relative.key' is not an absolute path" bad3.err \
  || fail "relative copy-key-file: $(cat bad3.err)"
