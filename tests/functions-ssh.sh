# A real sshd on 127.0.0.1 for the remote repository tests.  Source after
# tests/functions.sh (it needs requires, fail, cleanup_fn and $scratch):
#
#   source "$(dirname "$0")/functions-ssh.sh"
#   start_sshd                        # sets $ssh_port, $VMBACKUP_RSH
#   authorize_key                     # plain "vmbackup serve" access
#   authorize_key 'command="... serve --append-only"'
#   url=ssh://root@127.0.0.1:$ssh_port$scratch/repo
#
# The daemon has its own host key, config, pid file and authorized_keys
# in $scratch/sshd, runs as root (the tests do) and is stopped by its
# pid at exit.  The client side is "ssh -F $scratch/sshd/ssh_config":
# the generated user key, the host key pinned, never a prompt.

# shellcheck shell=bash
# shellcheck disable=SC2154  # $scratch is set by tests/functions.sh

_sshd=/usr/sbin/sshd

start_sshd ()
{
  local d=$scratch/sshd i
  requires_root "sshd"
  [ -x "$_sshd" ] || _sshd=$(command -v sshd 2>/dev/null) ||
    { echo "$0: SKIP: sshd is not installed (openssh-server)"; exit 77; }
  requires ssh
  requires ssh-keygen
  requires python3
  mkdir -p "$d" /run/sshd       # /run/sshd: privilege separation
  chmod 0755 /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$d/user_key"
  : > "$d/authorized_keys"
  # A free port: bind to 0 and let the kernel choose.
  ssh_port=$(python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '%s\n' "Port $ssh_port" "ListenAddress 127.0.0.1" \
    "HostKey $d/host_key" "PidFile $d/sshd.pid" \
    "AuthorizedKeysFile $d/authorized_keys" "StrictModes no" "UsePAM no" \
    "PermitRootLogin prohibit-password" "PubkeyAuthentication yes" \
    "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
    "PermitUserEnvironment no" "LogLevel ERROR" > "$d/sshd_config"
  printf '%s\n' "Host *" "  User root" "  IdentityFile $d/user_key" \
    "  IdentitiesOnly yes" "  UserKnownHostsFile $d/known_hosts" \
    "  StrictHostKeyChecking yes" "  BatchMode yes" "  LogLevel ERROR" \
    > "$d/ssh_config"
  echo "[127.0.0.1]:$ssh_port $(cut -d' ' -f1,2 "$d/host_key.pub")" \
    > "$d/known_hosts"
  "$_sshd" -f "$d/sshd_config" -E "$d/sshd.log" ||
    fail "sshd did not start: $(cat "$d/sshd.log")"
  for i in $(seq 100); do [ -s "$d/sshd.pid" ] && break; sleep 0.05; done
  [ -s "$d/sshd.pid" ] || fail "sshd wrote no pid file: $(cat "$d/sshd.log")"
  cleanup_fn "kill $(cat "$d/sshd.pid")"
  export VMBACKUP_RSH="ssh -F $d/ssh_config"
  # The far end runs the vmbackup under test, not one on the PATH.
  export VMBACKUP_REMOTE_PATH=$VMBACKUP
}

# authorize_key [OPTIONS]: let the test key in, with authorized_keys
# options (a forced command="..." and so on), replacing earlier keys.
authorize_key ()
{
  local d=$scratch/sshd
  echo "${1:+$1 }$(cat "$d/user_key.pub")" > "$d/authorized_keys"
}

_tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# start_append_only [SERVE OPTIONS]: sshd, a repository with 64 KiB
# chunks at $local_repo (under $scratch/allowed), the test key forced to
# "vmbackup serve --append-only --restrict-to-path $scratch/allowed
# OPTIONS", and VMBACKUP_REPO its ssh:// URL.  The admin works on
# $local_repo directly.  The repository is in the clear: these tests
# forge manifests and indexes through the raw protocol, which needs the
# format in the clear (the encrypted server path has its own tests).
start_append_only ()
{
  start_sshd
  mkdir -p "$scratch/allowed"
  local_repo=$scratch/allowed/repo
  in_the_clear
  VMBACKUP_REPO=$local_repo vmb init --encryption none --chunk-size 64K \
    >/dev/null
  authorize_key "command=\"$VMBACKUP serve --append-only --restrict-to-path $scratch/allowed${1:+ $1}\",restrict"
  export VMBACKUP_REPO=ssh://root@127.0.0.1:$ssh_port$local_repo
}

# raw_client ARGS... <<'PY': a Python script (on standard input) that
# can "from vmbproto import *" and reach the sshd (ssh_argv()).
raw_client ()
{
  SSH_PORT=$ssh_port PYTHONPATH=$_tests_dir${PYTHONPATH:+:$PYTHONPATH} \
    python3 - "$@"
}
