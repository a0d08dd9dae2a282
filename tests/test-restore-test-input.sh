#!/usr/bin/env bash
# vmbackup restore-test refuses bad input with one line and a non-zero
# exit before it makes anything (no state directory, so no VM or network):
# a bad --check, no ID, an unknown ID, a backup that is not a VM's.  No
# libvirt needed: nothing gets that far.  (tests/vm/test-vm-restore-test.sh
# runs it against real guests.)
source "$(dirname "$0")/functions.sh"
cd "$scratch"
vmb init >/dev/null
state=$scratch/state
rt () { vmb restore-test --state-dir "$state" -c test:///default "$@"; }

out=$(vmb restore-test --help)
width=$(awk '{ if (length > w) w = length } END { print w }' <<<"$out")
[ "$width" -le 80 ] || fail "restore-test --help is $width columns wide"
grep -q "^  --check CHECK" <<<"$out" || fail "--help lists no --check"

expect_fail 2 "^vmbackup: restore-test: give one or more backup IDs|give one or more backup IDs" rt
expect_fail 2 "^vmbackup: bad check 'bogus': want agent, exec:CMD\[=STATUS\] or tcp:PORT$" \
  rt x --check bogus
expect_fail 2 "^vmbackup: bad check 'tcp:0': a TCP port is 1 to 65535$" rt x --check tcp:0
expect_fail 2 "^vmbackup: bad check 'exec:true=': no exit status after '='$" \
  rt x --check agent --check exec:true=
expect_fail 2 "timeout" rt x --timeout 0
expect_fail 1 "^vmbackup: no backup named nosuch$" rt nosuch

truncate -s 1M img.raw
vmb backup --image img="$scratch/img.raw" >/dev/null
id=$(last_id img)
expect_fail 1 "^vmbackup: backup $id is not a VM backup: only VMs can be restore-tested$" rt img
mkdir -p tree && echo hi > tree/f
vmb files backup --name tree tree >/dev/null
expect_fail 1 "^vmbackup: backup tree/.* is not a VM backup" rt tree
[ ! -e "$state" ] || fail "bad input made $state"
echo OK
