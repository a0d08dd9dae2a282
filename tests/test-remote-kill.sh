#!/usr/bin/env bash
# A backup over ssh that loses its connection leaves nothing visible:
# (1) the server dies (SIGKILL) on the 5th chunk it receives; (2) the
# client is killed while the server is held after its 5th chunk.  In
# both cases the client's backup is not listed and no live writer
# registration is left; in case 2 the server ends its session itself
# (no reservation, no temporary file left), the next backup succeeds and the repository
# verifies clean.  The server-side test hooks (VMBACKUP_TEST_SERVE_*,
# src/serve/serve_chunks.c) make the point of failure deterministic.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
requires_root "sshd"
cd "$scratch"
start_sshd
authorize_key
export VMBACKUP_REPO=ssh://root@127.0.0.1:$ssh_port$scratch/repo
local_repo=$scratch/repo
vmb init --chunk-size 64K >/dev/null
mkdir src
head -c 1M /dev/urandom > src/first
vmb files backup --name keep src >/dev/null || fail "first backup"
head -c 8M /dev/urandom > src/big

check_nothing_left ()
{
  [ "$(vmb list | wc -l)" = 2 ] || fail "$1: a partial backup is listed: $(vmb list)"
  [ -z "$(ls -A "$local_repo/locks/writers")" ] \
    || fail "$1: writer registration left: $(ls "$local_repo/locks/writers")"
  [ -z "$(ls "$local_repo/backups/big" 2>/dev/null)" ] \
    || fail "$1: manifest left: $(ls "$local_repo/backups/big")"
}

# (1) The server is killed.  Like a local backup killed outright, it
# leaves its invisible ID reservation (backups/big/.reserved-*) and
# unpublished chunks in tmp/ for gc.
VMBACKUP_REMOTE_PATH="VMBACKUP_TEST_SERVE_KILL_AFTER=5 $VMBACKUP" \
  expect_fail 1 "files backup big: .*connection to the server lost" \
  vmb files backup --name big src
[ "$(grep -c . "$scratch/err")" = 1 ] || fail "more than one line: $(cat "$scratch/err")"
# A killed server cannot clean up: its registration is a dead one (no
# lock held), which gc and the next writer drop, as after a local crash.
python3 - "$local_repo/locks/writers" <<'PY' || fail "a dead server's registration is still locked"
import fcntl, os, sys
for f in os.listdir(sys.argv[1]):
    with open(os.path.join(sys.argv[1], f)) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
PY
[ "$(vmb list | wc -l)" = 2 ] || fail "killed server: a partial backup is listed"
VMBACKUP_REPO=$local_repo vmb gc >/dev/null || fail "gc after a killed server"
check_nothing_left "killed server"

# (2) The client is killed while the server holds after 5 chunks.
reserved_before=$(ls -A "$local_repo/backups/big")
tmp_before=$(ls -A "$local_repo/tmp")  # the killed server's, for gc
sleep 1                                 # a backup ID of another second
flag=$scratch/paused
VMBACKUP_REMOTE_PATH="VMBACKUP_TEST_SERVE_PAUSE_AFTER=5 VMBACKUP_TEST_SERVE_PAUSE_FILE=$flag $VMBACKUP" \
  "$VMBACKUP" files backup --name big src > client.out 2>&1 &
client=$!
for _ in $(seq 200); do [ -s "$flag" ] && break; sleep 0.05; done
[ -s "$flag" ] || fail "the server never reached its 5th chunk: $(cat client.out)"
server=$(cat "$flag")
kill -9 "$client"
wait "$client" 2>/dev/null || true
rm -f "$flag"                           # let the server go on: to EOF
for _ in $(seq 200); do kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
kill -0 "$server" 2>/dev/null && fail "the server did not end after its client died"
check_nothing_left "killed client"
[ "$(ls -A "$local_repo/backups/big")" = "$reserved_before" ] \
  || fail "killed client: reservation left: $(ls -A "$local_repo/backups/big")"
[ "$(ls -A "$local_repo/tmp")" = "$tmp_before" ] \
  || fail "killed client: temporary files left: $(ls -A "$local_repo/tmp")"

# The next backup works and everything verifies.
vmb files backup --name big src > ok.out || fail "backup after the failures: $(cat ok.out)"
vmb files restore big --to restored >/dev/null || fail "restore"
cmp src/big "restored$scratch/src/big" || fail "restored file differs"
VMBACKUP_REPO=$local_repo vmb verify > verify.out || fail "verify: $(cat verify.out)"
grep -q "verified 2 backups" verify.out || fail "verify: $(cat verify.out)"
echo OK
