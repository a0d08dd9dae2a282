#!/usr/bin/env bash
# A chunk verify cannot read (here: permission denied) may well be whole:
# verify reports it and leaves it in place, never in quarantine/, and once
# it is readable again the backup restores.  A missing chunk is reported
# as missing.
#
# Tests run as root, which the kernel lets read a mode-000 file, so verify
# runs as root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv):
# the open() then really fails with EACCES from the kernel, as it would
# for any other user, while everything else in the repository (owned by
# root, owner-readable) stays readable.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
requires python3
requires setpriv
requires_root "to drop the capability that lets root read mode-000 files"

cd "$scratch"
vmb init --chunk-size 64K >/dev/null
truncate -s 1M disk.img
put_random disk.img 0 1
vmb backup --image u=disk.img >/dev/null
id=$(last_id u)

no_dac ()
{
  setpriv --bounding-set -dac_override,-dac_read_search \
          --inh-caps -dac_override,-dac_read_search "$@"
}
chunk=$(find "$VMBACKUP_REPO/chunks" -type f | head -1)
hex=$(basename "$chunk")

chmod 000 "$chunk"
rc=0; no_dac "$VMBACKUP" verify > verify.out 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat verify.out; fail "verify exit $rc, not 1"; }
grep -qE "^BAD backup $id disk u offset [0-9]+: chunk $hex: Permission denied \(left in place\)" verify.out \
  || { cat verify.out; fail "unreadable chunk not reported"; }
grep -q quarantine verify.out && { cat verify.out; fail "verify speaks of quarantine"; }
[ -z "$(ls -A "$VMBACKUP_REPO/quarantine" 2>/dev/null)" ] || fail "something moved to quarantine/"
[ -e "$chunk" ] || fail "the unreadable chunk is gone from chunks/"

chmod 644 "$chunk"
vmb verify > verify.out 2>&1 || { cat verify.out; fail "readable again: verify fails"; }
vmb restore "$id" --to out.img >/dev/null || fail "readable again: restore fails"
cmp disk.img out.img || fail "restore differs"
rm out.img

# Missing is reported as missing (and there is nothing to move).
mv "$chunk" saved
rc=0; vmb verify > verify.out 2>&1 || rc=$?
[ "$rc" = 1 ] || { cat verify.out; fail "missing chunk: verify exit $rc"; }
grep -qE "^BAD backup $id disk u offset [0-9]+: chunk $hex: missing$" verify.out \
  || { cat verify.out; fail "missing chunk not reported as missing"; }
mv saved "$chunk"
vmb verify >/dev/null || fail "repository not clean again"
echo OK
