#!/usr/bin/env bash
# vmbackup export killed with SIGKILL leaves nothing behind: no nbdkit,
# no keeper process, no socket, no pid file; SIGINT (Ctrl-C) stops it
# cleanly (exit 0) with a client connected, socket removed; an export
# that stops never removes another's socket at its path.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-export.sh"
requires qemu-io
requires pgrep
cd "$scratch"

vmb init >/dev/null
truncate -s 16M disk.img
put_random disk.img 2 4
vmb backup --image d=disk.img >/dev/null
sock=$scratch/s

# gone PID...: each process has exited (zombies count as gone) within 10 s.
gone ()
{
  local p i state
  for p in "$@"; do
    for i in $(seq 100); do
      state=$(ps -o stat= -p "$p" 2>/dev/null || true)
      [ -z "$state" ] || [ "${state:0:1}" = Z ] && break
      sleep 0.1
    done
    state=$(ps -o stat= -p "$p" 2>/dev/null || true)
    [ -z "$state" ] || [ "${state:0:1}" = Z ] \
      || fail "process $p ($(ps -o args= -p "$p")) still runs"
  done
}

for round in 1 2 3; do
  start_export exp.out d --socket "$sock"
  nbdkit_pid=$(pgrep -f "^nbdkit .*-U $sock ") || fail "no nbdkit serving $sock"
  keeper_pid=$(ps -o ppid= -p "$nbdkit_pid" | tr -d ' ')
  [ "$keeper_pid" != "$export_pid" ] || fail "nbdkit has no keeper"
  pidfile=$(tr '\0' '\n' < "/proc/$nbdkit_pid/cmdline" | grep -A1 '^-P$' | tail -1)
  [ -e "$pidfile" ] || fail "no pid file $pidfile"
  # A client holding a connection open while vmbackup is killed.
  if [ "$round" = 2 ]; then
    ( qemu-io -r -f raw "$(nbd_sock "$sock")" -c 'read 0 1M' -c 'sleep 5000' \
        >/dev/null 2>&1 & )
    sleep 0.5
  fi
  kill -9 "$export_pid"
  wait "$export_pid" 2>/dev/null || true
  gone "$nbdkit_pid" "$keeper_pid"
  [ ! -e "$sock" ] || fail "round $round: socket left after kill -9"
  [ ! -e "$pidfile" ] && [ ! -e "$(dirname "$pidfile")" ] \
    || fail "round $round: pid file left after kill -9"
done

# SIGINT, as Ctrl-C sends it, with a client connected: exit 0.
start_export exp.out d --socket "$sock"
nbdkit_pid=$(pgrep -f "^nbdkit .*-U $sock ")
qemu-io -r -f raw "$(nbd_sock "$sock")" -c 'read 0 1M' -c 'sleep 3000' \
  >/dev/null 2>&1 &
client=$!
cleanup_fn "kill $client 2>/dev/null"
sleep 0.5
kill -INT "$export_pid"
rc=0
wait "$export_pid" || rc=$?
[ "$rc" = 0 ] || fail "export stopped by SIGINT exited $rc"
gone "$nbdkit_pid"
[ ! -e "$sock" ] || fail "socket left after SIGINT"

# A new export at the path of one that is still stopping (an instant
# restore resumed right after a kill): the old one, once stopped, leaves
# the new one's socket alone.
start_export old.out d --socket "$sock"
old_pid=$export_pid
rm -f "$sock"
start_export new.out d --socket "$sock"
kill -TERM "$old_pid"
wait "$old_pid" || fail "the old export did not stop cleanly"
[ -S "$sock" ] || fail "the old export removed the new export's socket"
qemu-io -r -f raw "$(nbd_sock "$sock")" -c 'read 0 1M' >/dev/null ||
  fail "the new export does not serve after the old one stopped"
stop_export
[ ! -e "$sock" ] || fail "socket left after the new export stopped"
echo OK
