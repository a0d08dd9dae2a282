#!/usr/bin/env bash
# The repository goes away while it is exported: reads of what is not
# cached fail with an I/O error and event 2040, the export keeps
# running, and once the repository is back (a local one) reads work
# again.  Over ssh, the link is cut (its ssh process killed): the same
# EIO and event, and the export stays up.
tests=$(cd "$(dirname "$0")" && pwd)
source "$tests/functions.sh"
source "$tests/functions-export.sh"
requires qemu-io
requires qemu-img
cd "$scratch"

truncate -s 32M disk.img
put_random disk.img 0 32
sock=$scratch/s
uri=$(nbd_sock "$sock")

read_fails ()
{
  qemu-io -r -f raw "$uri" -c "read $1 $2" > qio.out 2>&1 || true
  grep -q "Input/output error" qio.out \
    || fail "$3: read $1+$2 did not fail with EIO: $(cat qio.out)"
}

read_works ()
{
  qemu-io -r -f raw "$uri" -c "read $1 $2" > qio.out 2>&1 \
    && ! grep -q "error" qio.out || fail "$3: read $1+$2 failed: $(cat qio.out)"
}

# Local: the repository's chunks gone (as if the disk under them were
# unmounted), then back.
vmb init --chunk-size 1M >/dev/null
vmb backup --image d=disk.img >/dev/null
start_export exp.out d --socket "$sock"
read_works 0 1M local
mv "$VMBACKUP_REPO/chunks" "$scratch/moved"
read_fails 8M 1M "local, chunks gone"
kill -0 "$export_pid" || fail "the export died when its repository went away"
mv "$scratch/moved" "$VMBACKUP_REPO/chunks"
read_works 8M 1M "local, back"
qemu-img compare -q -f raw disk.img "$uri" || fail "local, back: export differs"
stop_export
grep -q '"id": 2040' "$VMBACKUP_EVENT_LOG" || fail "no event 2040"

# ssh: the link cut under the export.
if [ "$(id -u)" = 0 ] && command -v ssh >/dev/null; then
  source "$tests/functions-ssh.sh"
  start_sshd
  authorize_key
  export VMBACKUP_KEY_FILE=$scratch/remote.key
  export VMBACKUP_REPO=ssh://root@127.0.0.1:$ssh_port$scratch/remote
  vmb init --chunk-size 1M >/dev/null
  vmb backup --image r=disk.img >/dev/null
  : > "$VMBACKUP_EVENT_LOG"
  start_export exp.out r --socket "$sock"
  read_works 0 1M ssh
  # This export's nbdkit (under its keeper, under vmbackup): not the
  # first part's, which may still be exiting at the same path (seen
  # under ASan), nor a child of it between fork and exec.
  nbdkit_pid=
  for child in $(pgrep -P "$export_pid"); do
    nbdkit_pid=$(pgrep -P "$child" -x nbdkit) && break
  done
  [ -n "$nbdkit_pid" ] ||
    fail "no nbdkit under the export's keeper: $(ps -ef --forest | grep -A3 "$export_pid")"
  ssh_pids=$(pgrep -P "$nbdkit_pid" ssh) || fail "no ssh under nbdkit"
  kill $ssh_pids
  sleep 0.5
  read_fails 16M 1M "ssh, link cut"
  kill -0 "$nbdkit_pid" || fail "nbdkit died when the link was cut"
  read_works 0 1M "ssh, cached chunk"
  stop_export
  grep -q '"id": 2040' "$VMBACKUP_EVENT_LOG" || fail "ssh: no event 2040"
else
  echo "ssh part skipped: needs root and ssh"
fi
echo OK
