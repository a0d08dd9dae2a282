#!/usr/bin/env bash
# vm targets of a job, against libvirt's in-process test driver
# (test:///default: one running VM named "test", no daemon involved).
# 'vm = all' finds the host's VMs and backs each up as 'vmbackup backup'
# does -- which the test driver cannot do (no backup jobs), so the VM
# fails as a target of its own while the job's image is backed up;
# 'exclude' leaves it out; a host that cannot be reached fails 'all' as
# one target with libvirt's reason.  Real VM backups are the vm suite's.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd

cd "$scratch"
vmb init >/dev/null
export VMBACKUP_JOBS_DIR="$scratch/jobs" VMBACKUP_JOBS_STATE_DIR="$scratch/state"
mkdir jobs
truncate -s 4M d.img
cat > jobs/host.conf <<EOC
repository = $VMBACKUP_REPO
connect = test:///default
vm = all
image = d=$scratch/d.img
EOC

rc=0; vmb job run host > all.out 2> all.err || rc=$?
[ $rc = 1 ] || fail "all: exit $rc: $(cat all.out all.err)"
tail -1 all.out | grep -q "^job host: FAILED, 1 of 2 targets backed up (failed: test), " \
  || fail "all: summary: $(cat all.out)"
grep -q "^vmbackup: backup test: VM test: .*virDomainBackupBegin" all.err \
  || fail "the VM's own error: $(cat all.err)"
python3 - state/host.json <<'EOP' || fail "JSON: $(cat state/host.json)"
import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["targets"]}
assert t["test"]["kind"] == "vm" and t["test"]["status"] == "failed", t
assert t["d"]["status"] == "ok", t
EOP
vmb events host | grep -qE "error +4003 host +vm test: exit status 1$" || fail "no 4003 for the VM"

# exclude: the only VM is left out, the image alone is the job.
echo "exclude = test" >> jobs/host.conf
vmb job run host > excl.out || fail "exclude: $(cat excl.out)"
tail -1 excl.out | grep -q "^job host: ok, 1 of 1 target backed up, " || fail "exclude: $(cat excl.out)"

# A host that cannot be reached: 'all' fails as a target, the image is
# still backed up.
sed -i "s|^connect = .*|connect = test://$scratch/no-such-host.xml|" jobs/host.conf
rc=0; vmb job run host > gone.out 2>&1 || rc=$?
[ $rc = 1 ] && tail -1 gone.out | grep -q "^job host: FAILED, 1 of 2 targets backed up (failed: all), " \
  || fail "unreachable host: exit $rc: $(cat gone.out)"
grep -q '"error":"vm = all: ' state/host.json || fail "no reason for 'all': $(cat state/host.json)"
[ "$(vmb list d | tail -n +2 | wc -l)" = 3 ] || fail "the image was not backed up each time"

# host = yes: the host's configuration is a target of its own, backed up
# after the others and pruned by the job's rules like them.
cat > jobs/whole.conf <<EOC
repository = $VMBACKUP_REPO
connect = test:///default
vm = all
exclude = test
host = yes
image = d=$scratch/d.img
keep-last = 1
concurrency = 4
EOC
for round in 1 2; do
  vmb job run whole > whole.out || fail "host = yes, round $round: $(cat whole.out)"
done
tail -1 whole.out | grep -q "^job whole: ok, 2 of 2 targets backed up, " \
  || fail "host = yes: $(cat whole.out)"
python3 - state/whole.json <<'EOP' || fail "JSON: $(cat state/whole.json)"
import json, sys
t = {x["name"]: x for x in json.load(open(sys.argv[1]))["targets"]}
assert t["host"]["kind"] == "host" and t["host"]["status"] == "ok", t
EOP
[ "$(vmb list --json | python3 -c 'import json,sys; print(sum(b["kind"]=="host" for b in json.load(sys.stdin)))')" = 1 ] \
  || fail "keep-last = 1 did not prune the host backups: $(vmb list)"
sed -i 's/^host = yes/host = maybe/' jobs/whole.conf
vmb job show whole 2> bad.err && fail "host = maybe accepted"
grep -q "whole.conf:5: host: bad value 'maybe' (yes or no)" bad.err || fail "$(cat bad.err)"
echo OK
