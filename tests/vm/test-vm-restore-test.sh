#!/usr/bin/env bash
# vmbackup restore-test: a backup restored as a throw-away VM on an
# isolated network, booted, checked, and removed again.
#
#   - a good backup passes (agent, a command, a TCP port), with the guest's
#     NIC moved to the test's isolated network, and the original VM running
#     and unchanged throughout;
#   - a damaged disk: the test guest boots from a kernel and initramfs
#     outside its disks (build-guest.sh), so damage to a disk cannot stop
#     the kernel from starting.  What the damage stops is the guest's use of
#     its data disk, which is what a check must prove: vda's ext4 superblock
#     is zeroed before the backup (the backup and verify are sound: they
#     keep the bytes the disk had), the guest's init fails to mount /data,
#     and the check that needs /data fails, named with its exit status;
#   - a failing guest check (exec:false) fails the test;
#   - SIGTERM mid-run cleans up at once; after a SIGKILL mid-run the run's
#     janitor removes everything within seconds; a SIGKILL to the run and
#     its janitor leaves the VM, the network and the files, which the next
#     run removes and says so;
#   - bad input (unknown ID, a backup that is not a VM's, a bad --check):
#     one line, non-zero exit, nothing made.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
vm_test_begin

state=$scratch/rt-state
rt () { vmb restore-test --state-dir "$state" "$@"; }
# In the background, as its own process: $! is vmbackup's PID.
rt_bg () { ( exec "$VMBACKUP" restore-test --state-dir "$state" "$@" ) & }
# What restore-test makes: rt-XXXXXX networks and rt-XXXXXX-NAME VMs.
rt_vms () { vsh list --all --name | grep -E '^rt-[A-Za-z0-9]{6}-' || true; }
rt_nets () { vsh net-list --all --name | grep -E '^rt-[A-Za-z0-9]{6}$' || true; }
nothing_left ()
{
  [ -z "$(rt_vms)" ] || fail "$1: VM left: $(rt_vms)"
  [ -z "$(rt_nets)" ] || fail "$1: network left: $(rt_nets)"
  [ -z "$(ls -A "$state" 2>/dev/null)" ] || fail "$1: files left: $(ls -A "$state")"
}
cleanup_fn 'for v in $(rt_vms); do destroy_guest "$v"; done; for n in $(rt_nets); do vsh net-destroy "$n" >/dev/null 2>&1; done'

# The good guest, with a NIC (user networking: nothing on the host it
# could reach through it matters, the test moves it anyway).
define_guest rt-good
dir=$(guest_dir rt-good)
vsh dumpxml --inactive rt-good |
  sed "s|</devices>|<interface type='user'><model type='virtio'/></interface>\n&|" > nic.xml
vsh define nic.xml >/dev/null || fail "redefine rt-good with a NIC"
start_guest rt-good
wait_agent rt-good
vmb backup rt-good >/dev/null
good=$(last_id rt-good)
before_xml=$(vsh dumpxml --inactive rt-good)
before_uuid=$(vsh domuuid rt-good)

# --- bad input: one line, non-zero, nothing made
expect_fail 2 "^vmbackup: bad check 'bogus': want agent, exec:CMD\[=STATUS\] or tcp:PORT" \
  rt "$good" --check bogus
expect_fail 2 "bad check 'tcp:99999': a TCP port is 1 to 65535" rt "$good" --check tcp:99999
expect_fail 2 "bad check 'exec:': no command" rt "$good" --check exec:
expect_fail 1 "^vmbackup: no backup named nosuch$" rt nosuch
# A bad one after a good one: refused before the good one is tested.
expect_fail 1 "^vmbackup: no backup named nosuch$" rt "$good" nosuch
truncate -s 1M img.raw
vmb backup --image rt-img="$scratch/img.raw" >/dev/null
expect_fail 1 "^vmbackup: backup rt-img/.* is not a VM backup" rt rt-img
nothing_left "bad input"

# --- a good backup passes; watch the test VM while it runs
rt "$good" --json --check agent --check 'exec:cat /data/seed.txt' \
  --check 'exec:ip link set lo up && { nc -ll -p 7000 -e /bin/true </dev/null >/dev/null 2>&1 & }' \
  --check tcp:7000 > good.json 2> good.err &
pid=$!
test_vm=
for _ in $(seq 600); do
  test_vm=$(rt_vms)
  [ -n "$test_vm" ] && [ "$(vsh domstate "$test_vm" 2>/dev/null)" = running ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.2
done
[ -n "$test_vm" ] || fail "no test VM seen running: $(cat good.err)"
iflist=$(vsh domiflist "$test_vm")
echo "$iflist" | grep -qE "network +rt-[A-Za-z0-9]{6} " ||
  fail "the test VM's NIC is not on the isolated network: $iflist"
net=$(rt_nets)
vsh net-dumpxml "$net" | grep -q "<forward" && fail "the test network forwards"
[ "$(vsh domstate rt-good)" = running ] || fail "original stopped during the test"
wait $pid || fail "restore-test of a good backup failed: $(cat good.err good.json)"
python3 - good.json <<'PY' || fail "bad JSON: $(cat good.json)"
import json, sys
[r] = json.load(open(sys.argv[1]))
assert r["passed"] and r["cleaned"] and r["vm"] == "rt-good", r
assert r["agent_seconds"] > 0 and r["total_seconds"] >= r["agent_seconds"], r
assert [c["check"] for c in r["checks"]] == ["agent", "exec:cat /data/seed.txt",
    "exec:ip link set lo up && { nc -ll -p 7000 -e /bin/true </dev/null >/dev/null 2>&1 & }",
    "tcp:7000"], r
assert all(c["passed"] for c in r["checks"]), r
assert "vmbackup test guest rt-good" in r["checks"][1]["detail"], r
PY
nothing_left "good backup"
[ "$(vsh domstate rt-good)" = running ] || fail "original not running after the test"
[ "$(vsh domuuid rt-good)" = "$before_uuid" ] || fail "original's UUID changed"
[ "$(vsh dumpxml --inactive rt-good)" = "$before_xml" ] || fail "original's definition changed"
vmb events rt-good > ev.txt; grep -qE "info +6105 rt-good " ev.txt || fail "no event 6105: $(vmb events rt-good | tail -5)"

# --- a check that fails: the test fails, names it, cleans up
expect_fail 1 "^vmbackup: restore-test $good: check exec:false failed: exit status 1, wanted 0" \
  rt "$good" --check exec:false --timeout 120
grep -q "FAILED" "$scratch/out" || fail "no FAILED line: $(cat "$scratch/out")"
vmb events rt-good > ev.txt; grep -qE "error +6104 rt-good .*exec:false" ev.txt || fail "no event 6104"
vmb events rt-good > ev.txt; grep -qE "error +6106 rt-good " ev.txt || fail "no event 6106"
nothing_left "failing check"
# Nothing listening: the TCP check fails.
expect_fail 1 "check tcp:7001 failed: nothing answered on port 7001 inside the guest" \
  rt "$good" --check tcp:7001
nothing_left "failing tcp check"

# --- SIGTERM mid-run: cleaned up at once
wait_test_vm ()
{
  for _ in $(seq 600); do
    [ -n "$(rt_vms)" ] && return 0
    kill -0 "$1" 2>/dev/null || fail "restore-test ended before its VM was seen"
    sleep 0.1
  done
  fail "no test VM appeared"
}
rt_bg "$good" > term.out 2> term.err
pid=$!
wait_test_vm $pid
kill -TERM $pid
rc=0; wait $pid || rc=$?
[ "$rc" = 1 ] || fail "SIGTERM: exit $rc: $(cat term.err)"
grep -q "interrupted by TERM" term.err || fail "SIGTERM: no reason: $(cat term.err)"
nothing_left "SIGTERM"

# --- SIGKILL mid-run: its janitor removes everything within seconds
janitors () { pgrep -f "restore-test --janitor --state-dir $state" || true; }
gone_within ()  # WHAT SECONDS
{
  for _ in $(seq $(($2 * 10))); do
    [ -z "$(rt_vms)$(rt_nets)$(ls -A "$state" 2>/dev/null)$(janitors)" ] && return 0
    sleep 0.1
  done
  nothing_left "$1"
  fail "$1: the janitor still runs"
}
rt_bg "$good" > kill.out 2> kill.err
pid=$!
wait_test_vm $pid
[ -n "$(janitors)" ] || fail "no janitor beside the run"
kill -KILL $pid
wait $pid 2>/dev/null || true
gone_within "SIGKILL" 20
vmb events rt-good > ev.txt
grep -qE "warning +6110 rt-good .*VM rt-[A-Za-z0-9]{6}-rt-good" ev.txt ||
  fail "no event 6110 from the janitor: $(tail -8 ev.txt)"
# A run that ends by itself leaves no janitor either (checked above by
# each nothing_left's run having returned; here explicitly).
[ -z "$(janitors)" ] || fail "a janitor outlived its run"

# --- the run and its janitor both killed (SIGKILL to the whole group):
# left behind, removed by the next run
n6110=$(vmb events rt-good | grep -cE "warning +6110 rt-good ")
rt_bg "$good" > kill.out 2> kill.err
pid=$!
wait_test_vm $pid
jpid=$(janitors)
[ -n "$jpid" ] || fail "no janitor beside the second run"
kill -KILL $jpid $pid
wait $pid 2>/dev/null || true
sleep 1
[ -n "$(rt_vms)" ] || fail "SIGKILL to both: the test VM vanished by itself"
[ -n "$(ls -A "$state")" ] || fail "SIGKILL to both: no state left to find it by"
rt "$good" > next.out 2> next.err || fail "run after SIGKILL failed: $(cat next.err)"
grep -q "removed the leftovers of 1 dead restore test first" next.out ||
  fail "next run did not say it removed the leftovers: $(cat next.out)"
[ "$(vmb events rt-good | grep -cE "warning +6110 rt-good ")" = $((n6110 + 1)) ] ||
  fail "no new event 6110: $(vmb events rt-good | tail -8)"
nothing_left "SIGKILL to both"
[ "$(vsh domstate rt-good)" = running ] || fail "original not running at the end"

# --- a backup of a guest whose data disk was damaged before the backup
define_guest rt-bad --raw
dd if=/dev/zero of="$(guest_dir rt-bad)/vda.raw" bs=1024 seek=1 count=1 conv=notrunc status=none
vmb backup rt-bad >/dev/null          # shut off: read directly
bad=$(last_id rt-bad)
vmb verify "$bad" >/dev/null || fail "verify of the damaged guest's backup failed"
expect_fail 1 "^vmbackup: restore-test $bad: check exec:test -r /data/seed.txt failed: exit status 1, wanted 0" \
  rt "$bad" --check agent --check 'exec:test -r /data/seed.txt' --timeout 120
nothing_left "damaged disk"
echo OK
