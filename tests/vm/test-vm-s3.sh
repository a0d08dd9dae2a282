#!/usr/bin/env bash
# VM and host backups into an S3 repository (a real single-node Ceph
# cluster), encrypted: a running guest backed up live, then
# incrementally (checkpoints, only the change sent); the host's libvirt
# configuration beside it; verify with and without the key; the VM
# restored from S3 beside the original (--as --start) boots with its
# data as at the second backup, and so does an instant restore from S3
# (copied behind the running VM, then no export left); the host
# backup's dry run finds the host as it was.  A second host (another cache) sees the same backups.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
source "$(dirname "$0")/../functions-ceph.sh"
requires python3
start_ceph
export VMBACKUP_S3_ENDPOINT=$s3_endpoint
export VMBACKUP_REPO=s3://vmb/hosts/kvm1
export XDG_CACHE_HOME=$scratch/cache
vm_test_begin
vmb info | grep -qE "^encryption  (aes|chacha)" || fail "the S3 repository is not encrypted: $(vmb info)"

define_guest s3vm
start_guest s3vm
wait_agent s3vm
sum () { guest_exec "$1" "sha256sum /data/$2 2>/dev/null | cut -d' ' -f1"; }

# --- full, live
guest_exec s3vm 'dd if=/dev/urandom of=/data/f1 bs=1k count=3000 2>/dev/null; sync'
vmb backup s3vm > b1.out || fail "backup to S3: $(cat b1.out)"
grep -q "^backup s3vm/.*: application," b1.out || fail "not live: $(cat b1.out)"
agent_cmd s3vm '{"execute":"guest-fsfreeze-status"}' | grep -q thawed || fail "guest left frozen"

# --- incremental: only the change is read and sent
guest_exec s3vm 'dd if=/dev/urandom of=/data/f2 bs=1k count=2000 2>/dev/null; sync'
at_backup2=$(sum s3vm f2)
vmb backup s3vm > b2.out || fail "incremental backup to S3: $(cat b2.out)"
grep -q "(1 incremental)" b2.out || fail "second backup not incremental: $(cat b2.out)"
new=$(vmb list --json | python3 -c '
import json, sys
b = [x for x in json.load(sys.stdin) if x["name"] == "s3vm"][-1]
print(sum(d["stored_new"] for d in b["disks"]))')
[ "$new" -lt $((12 << 20)) ] || fail "incremental stored $new new bytes for a 2 MB change"
id2=$(last_id s3vm)
# Written after the backup: not in what is restored.
guest_exec s3vm 'echo later > /data/f3; sync'

# --- the host's configuration, into the same bucket
vmb backup --host > host.out || fail "backup --host to S3: $(cat host.out)"
host_id=$(vmb list --json | python3 -c '
import json, sys
print([x for x in json.load(sys.stdin) if x["kind"] == "host"][-1]["id"])')

# --- verify, with the key and without it (the storage admin's view)
vmb verify > v.out || fail "verify on S3: $(cat v.out)"
grep -qE "^verified 3 backups, [0-9]+ chunks read: 0 problems$" v.out || fail "verify: $(cat v.out)"
(unset VMBACKUP_KEY_FILE; vmb verify > v-nokey.out) || fail "verify without the key: $(cat v-nokey.out)"
grep -qE "^verified 3 backups, [0-9]+ chunks read: 0 problems$" v-nokey.out \
  || fail "keyless verify: $(cat v-nokey.out)"

# --- another host: an empty cache, the same backups
XDG_CACHE_HOME=$scratch/cache2 vmb list s3vm | tail -n +2 | awk '{print $1}' > other.ids
[ "$(wc -l < other.ids)" = 2 ] && [ "$(tail -1 other.ids)" = "$id2" ] \
  || fail "a second host lists $(cat other.ids)"

# --- restore from S3 beside the original; it boots with its data
XDG_CACHE_HOME=$scratch/cache2 vmb restore "$id2" --as s3vm-copy --start > r.out \
  || fail "restore --as from S3: $(cat r.out)"
cleanup_fn "destroy_guest s3vm-copy"
wait_agent s3vm-copy
[ "$(sum s3vm-copy f2)" = "$at_backup2" ] || fail "restored f2 is not as at the backup"
[ -z "$(sum s3vm-copy f3)" ] || fail "f3, written after the backup, is in the restore"
[ "$(vsh domstate s3vm)" = running ] || fail "the original stopped"

vsh destroy s3vm-copy >/dev/null

# --- instant recovery from S3: running at once on overlays over the
# export, its disk copied behind it, then no export left
export VMBACKUP_RUN_DIR=$scratch/run
vmb restore "$id2" --instant --as s3vm-inst > inst.out || fail "instant restore from S3: $(cat inst.out)"
cleanup_fn "destroy_guest s3vm-inst"
wait_agent s3vm-inst
[ "$(sum s3vm-inst f2)" = "$at_backup2" ] || fail "instant: f2 is not as at the backup"
for _ in $(seq 600); do
  vmb restore --instant-status | grep -q "^VM s3vm-inst " || break
  sleep 0.5
done
vmb restore --instant-status | grep -q "^VM s3vm-inst " \
  && fail "the instant copy from S3 did not finish: $(vmb restore --instant-status)"
! vsh dumpxml s3vm-inst | grep -q "protocol='nbd'" || fail "instant: still backed by the export"
[ "$(sum s3vm-inst f2)" = "$at_backup2" ] || fail "instant: f2 after the copy"
vsh destroy s3vm-inst >/dev/null

# --- the host backup from S3: a dry run on the unchanged host
vmb restore "$host_id" --host --dry-run > dry.out || fail "host dry run from S3: $(cat dry.out)"
grep -qE " (define|differs|replace|write)( |$)" dry.out \
  && fail "dry run on an unchanged host wants changes: $(cat dry.out)"
echo "s3 VM test: full, incremental, host, verify, restore --as, --instant: ok"
