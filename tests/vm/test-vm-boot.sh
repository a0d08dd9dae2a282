#!/usr/bin/env bash
# The test guest boots under libvirt and its agent does what the live-backup
# checks rely on (DESIGN section 1): guest-ping, guest-exec, guest-get-fsinfo
# (ext4 at /data), freeze / status / thaw.  The --no-agent guest boots with
# no agent answering; the --nofreeze guest answers but refuses to freeze and
# says so in guest-info.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
start_libvirt

# json EXPR REPLY: evaluate a Python expression on a JSON reply (as r).
json () { python3 -c "import json, sys; r = json.loads(sys.argv[1]); print($1)" "$2"; }

g=vmbtest-boot
define_guest $g
define_guest $g-noagent --no-agent
define_guest $g-nofreeze --nofreeze

# Boot the default guest alone, so its time to the first ping is not
# slowed by the others (each TCG vCPU takes a host core).
start_guest $g
wait_agent $g
echo "boot to first guest-ping: $vm_ping_seconds s"
start_guest $g-noagent
start_guest $g-nofreeze

# guest-exec: write a file on the ext4 data disk and read it back.
out=$(guest_exec $g 'cat /data/seed.txt')
[ "$out" = "vmbackup test guest $g" ] || fail "seed.txt reads '$out'"
guest_exec $g 'head -c 1048576 /dev/urandom > /data/f && sync && sha256sum /data/f' \
  > "$scratch/sum1" || fail "writing /data/f failed"
sum2=$(guest_exec $g 'echo 3 > /proc/sys/vm/drop_caches; sha256sum /data/f')
[ "$(cat "$scratch/sum1")" = "$sum2" ] || fail "read back '$sum2', wrote '$(cat "$scratch/sum1")'"
rc=0; guest_exec $g 'exit 7' || rc=$?
[ $rc = 7 ] || fail "guest_exec did not return the exit status (got $rc)"

# guest-get-fsinfo lists /data as ext4 on vda.
r=$(agent_cmd $g '{"execute":"guest-get-fsinfo"}')
[ "$(json '[f["type"] for f in r["return"] if f["mountpoint"] == "/data"]' "$r")" = "['ext4']" ] ||
  fail "fsinfo does not list /data as ext4: $r"

# Freeze, status, thaw.
r=$(agent_cmd $g '{"execute":"guest-fsfreeze-freeze"}') || fail "freeze failed"
[ "$(json 'r["return"]' "$r")" = 1 ] || fail "freeze froze $r filesystems, not 1"
r=$(agent_cmd $g '{"execute":"guest-fsfreeze-status"}')
[ "$(json 'r["return"]' "$r")" = frozen ] || fail "status after freeze: $r"
r=$(agent_cmd $g '{"execute":"guest-fsfreeze-thaw"}') || fail "thaw failed"
[ "$(json 'r["return"]' "$r")" = 1 ] || fail "thaw: $r"
r=$(agent_cmd $g '{"execute":"guest-fsfreeze-status"}')
[ "$(json 'r["return"]' "$r")" = thawed ] || fail "status after thaw: $r"
guest_exec $g 'echo after-thaw > /data/g && sync' || fail "cannot write after thaw"

# --nofreeze: answers, but freeze is disabled and guest-info says so.
wait_agent $g-nofreeze
r=$(agent_cmd $g-nofreeze '{"execute":"guest-info"}')
[ "$(json '[c["enabled"] for c in r["return"]["supported_commands"] if c["name"] == "guest-fsfreeze-freeze"]' "$r")" = "[False]" ] ||
  fail "guest-info of the nofreeze guest does not disable guest-fsfreeze-freeze"
[ "$(json '[c["enabled"] for c in r["return"]["supported_commands"] if c["name"] == "guest-ping"]' "$r")" = "[True]" ] ||
  fail "guest-info of the nofreeze guest: guest-ping not enabled"
if agent_cmd $g-nofreeze '{"execute":"guest-fsfreeze-freeze"}' > "$scratch/err" 2>&1; then
  fail "the nofreeze guest froze: $(cat "$scratch/err")"
fi
grep -q disabled "$scratch/err" || fail "unexpected freeze refusal: $(cat "$scratch/err")"
r=$(agent_cmd $g-nofreeze '{"execute":"guest-fsfreeze-status"}')
[ "$(json 'r["return"]' "$r")" = thawed ] || fail "nofreeze guest status: $r"

# --no-agent: /init has finished (so an agent would have started by now),
# the domain runs, and nothing answers guest-ping.
wait_console $g-noagent 'vmb-init: ready'
sleep 2
[ "$(vsh domstate $g-noagent)" = running ] || fail "the no-agent guest is not running"
if vsh qemu-agent-command --timeout 5 $g-noagent '{"execute":"guest-ping"}' >/dev/null 2>&1; then
  fail "the no-agent guest answered guest-ping"
fi

echo "ok"
