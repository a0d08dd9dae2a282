#!/usr/bin/env bash
# vmbackup export serves a disk of an image backup over NBD: qemu-img
# compare finds it identical to the original (raw and qcow2 sources),
# nbdinfo --map shows the holes (all-zero chunks) as holes, nbdcopy
# copies it, nbdkit runs the plugin by itself; from an encrypted repository, one in the clear, and one
# over ssh.  Stopping it removes its socket.
tests=$(cd "$(dirname "$0")" && pwd)
source "$tests/functions.sh"
source "$tests/functions-export.sh"
requires qemu-img
requires qemu-io
requires qemu-nbd
requires nbdcopy
requires python3
cd "$scratch"

# 50 MiB (4 MiB chunks, the last one short): data in chunk 0, chunks 5
# to 7 and the last chunk; holes between.
truncate -s 50M raw.img
put_random raw.img 0 3
put_random raw.img 20 9
put_random raw.img 49 1
qemu-img create -q -f qcow2 disk.qcow2 30M
qemu-io -f qcow2 -c 'write -P 0x61 1M 2M' -c 'write -P 0x62 17M 5M' \
  disk.qcow2 >/dev/null

# check_export SOCKET: the raw backup's export, read every way.
check_raw_export ()
{
  local uri
  uri=$(nbd_sock "$1")
  qemu-img compare -q -f raw raw.img "$uri" || fail "export differs from raw.img"
  nbdinfo --map "$uri" | awk '{print $1, $2, $4}' > map.out
  printf '%s\n' "0 4194304 data" "4194304 16777216 hole,zero" \
    "20971520 12582912 data" "33554432 16777216 hole,zero" \
    "50331648 2097152 data" > map.want
  diff map.want map.out || fail "block status of the export is not the backup's holes"
  rm -f copy.img
  nbdcopy "$uri" copy.img || fail "nbdcopy from the export"
  cmp raw.img copy.img || fail "nbdcopy's copy differs"
}

run_checks ()
{
  local what=$1
  vmb backup --image raw=raw.img --image q=disk.qcow2 >/dev/null
  start_export exp.out raw --socket "$scratch/raw.sock"
  grep -q "^exporting raw/.* disk raw (50.0 MiB) read-only on unix socket $scratch/raw.sock" exp.out \
    || fail "$what: export's line: $(cat exp.out)"
  check_raw_export "$scratch/raw.sock"
  stop_export
  [ ! -e "$scratch/raw.sock" ] || fail "$what: socket left after the export stopped"
  # A qcow2 source is served as its virtual disk.
  start_export exp.out q --disk q --socket "$scratch/q.sock"
  qemu-img compare -q -f qcow2 disk.qcow2 "$(nbd_sock "$scratch/q.sock")" \
    || fail "$what: qcow2 backup's export differs"
  stop_export
  # The plugin alone, as 'nbdkit vmbackup repo=... backup=ID' runs it
  # (the key from the environment, as the command line reads it).
  "${nbdkit[@]}" -U - "$plugin" repo="$VMBACKUP_REPO" backup=raw \
    --run 'env -u LD_PRELOAD qemu-img compare -q -f raw raw.img "$uri"' \
    || fail "$what: nbdkit with the plugin alone"
  echo "$what: OK"
}

# Encrypted (the default).
vmb init >/dev/null
run_checks encrypted

# In the clear.
in_the_clear
export VMBACKUP_REPO=$scratch/clear
vmb init --encryption none >/dev/null
run_checks clear

# Over TCP, bound to the loopback address.
port=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_export exp.out raw --port "$port" --bind 127.0.0.1
grep -q "read-only on nbd://127.0.0.1:$port" exp.out || fail "TCP line: $(cat exp.out)"
qemu-img compare -q -f raw raw.img "nbd://127.0.0.1:$port" \
  || fail "export over TCP differs"
stop_export

# Over ssh (needs root for sshd).
if [ "$(id -u)" = 0 ] && command -v ssh >/dev/null; then
  source "$tests/functions-ssh.sh"
  start_sshd
  authorize_key
  export VMBACKUP_KEY_FILE=$scratch/remote.key
  export VMBACKUP_REPO=ssh://root@127.0.0.1:$ssh_port$scratch/remote
  vmb init >/dev/null
  run_checks ssh
else
  echo "ssh part skipped: needs root and ssh"
fi
echo OK
