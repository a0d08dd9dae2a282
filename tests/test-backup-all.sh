#!/usr/bin/env bash
# backup --all against libvirt's in-process test driver (test:///default:
# one running VM named "test", a network, a pool, interfaces; no daemon):
# the host's configuration is backed up, every VM is tried, a VM that
# fails (the test driver has no backup jobs) does not stop the rest and
# makes the exit 1; --exclude leaves VMs out.  The host backup of the
# test driver restores as a dry run against it: everything already there.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"

cd "$scratch"
vmb init >/dev/null
export LIBVIRT_DEFAULT_URI=test:///default

rc=0; vmb -c test:///default backup --all > all.out 2> all.err || rc=$?
[ $rc = 1 ] || fail "--all with a failing VM: exit $rc: $(cat all.out all.err)"
grep -q "^backup host-[^:]*: the host's configuration$" all.out \
  || fail "no host backup: $(cat all.out all.err)"
grep -q "^vmbackup: backup test: VM test: .*virDomainBackupBegin" all.err \
  || fail "the VM's own error: $(cat all.err)"
grep -q "^1 of 2 backups succeeded$" all.out || fail "summary: $(cat all.out)"

rc=0; vmb -c test:///default backup --all --exclude test --exclude nosuch \
  > ex.out 2> ex.err || rc=$?
[ $rc = 0 ] || fail "--exclude test: exit $rc: $(cat ex.out ex.err)"
grep -q "warning: --exclude nosuch: the host has no such VM" ex.err \
  || fail "unknown exclude not named: $(cat ex.err)"
grep -q "VM test" ex.err && fail "excluded VM tried: $(cat ex.err)"
id=$(sed -n 's/^backup \(host-[^:]*\): .*/\1/p' ex.out)
vmb list --json | python3 -c '
import json,sys
kinds=sorted(b["kind"] for b in json.load(sys.stdin))
assert kinds==["host","host"], kinds' || fail "list: $(vmb list)"

vmb -c test:///default restore "$id" --host --dry-run > dry.out \
  || fail "dry run: $(cat dry.out)"
grep -q "^network  *default  *kept" dry.out || fail "dry run: $(cat dry.out)"
grep -q "^pool  *default-pool  *kept" dry.out || fail "dry run: $(cat dry.out)"

# Over ssh: serve takes a host backup (its own shape: one host document,
# no disks) and gives it back for a restore.
if [ "$(id -u)" = 0 ] && command -v sshd >/dev/null; then
  start_sshd
  authorize_key
  url=ssh://root@127.0.0.1:$ssh_port$scratch/remote
  vmb --repo "$url" init > /dev/null || fail "init over ssh"
  vmb --repo "$url" -c test:///default backup --host > ssh.out \
    || fail "backup --host over ssh: $(cat ssh.out)"
  rid=$(sed -n 's/^backup \(host-[^:]*\): .*/\1/p' ssh.out)
  vmb --repo "$url" -c test:///default restore "$rid" --host --dry-run \
    > ssh-dry.out || fail "restore --host over ssh: $(cat ssh-dry.out)"
  grep -q "^network  *default  *kept" ssh-dry.out || fail "$(cat ssh-dry.out)"
  vmb --repo "$url" verify > /dev/null || fail "verify over ssh"
fi

# Usage errors: exit 2, the cause named, nothing backed up.
before=$(vmb list | wc -l)
for args in "--all test:or VM names, not both" \
            "--exclude test test:--exclude goes with --all" \
            "--no-secret-values test:--no-secret-values goes with --host"; do
  rc=0; vmb -c test:///default backup ${args%%:*} 2> err || rc=$?
  [ $rc = 2 ] || fail "backup ${args%%:*}: exit $rc"
  head -1 err | grep -q -- "${args#*:}" || fail "backup ${args%%:*}: $(cat err)"
done
[ "$(vmb list | wc -l)" = "$before" ] || fail "a usage error backed something up"
echo OK
