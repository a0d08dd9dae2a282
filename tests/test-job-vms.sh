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
