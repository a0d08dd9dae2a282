#!/usr/bin/env bash
# A copy killed (SIGKILL) in the middle of its second backup, into a
# local repository and into one over ssh: the target lists the first
# backup only, nothing of the second; run again, the copy skips the first,
# finds the chunks it had sent and finishes; the target verifies, gc keeps
# everything, and both backups restore byte-identical.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
cd "$scratch"

vmb init --chunk-size 64K >/dev/null
truncate -s 2M a.img
put_random a.img 0 2
truncate -s 24M b.img
put_random b.img 0 24
vmb backup --image a=a.img >/dev/null
vmb backup --image b=b.img >/dev/null
id_a=$(last_id a)
id_b=$(last_id b)

# killed_copy TARGET KEYFILE: a is 32 chunks, b 384: pause on the 332nd
# chunk sent (b's 300th), kill there, copy again.  Chunks sent are made
# durable every 256 (repo/copy_data.c), so at most 128 go again.
killed_copy ()
{
  local to=$1 key=$2 pausefile=$scratch/pause.$RANDOM pid k=$2 i
  VMBACKUP_KEY_FILE=$key vmb --repo "$to" init --chunk-size 64K >/dev/null
  VMBACKUP_TEST_COPY_PAUSE_AFTER=332 VMBACKUP_TEST_COPY_PAUSE_FILE=$pausefile \
    "$VMBACKUP" copy --to "$to" --to-key-file "$key" --all > first.out 2>&1 &
  pid=$!
  for i in $(seq 600); do [ -s "$pausefile" ] && break; sleep 0.05; done
  [ -s "$pausefile" ] || fail "copy to $to never paused: $(cat first.out)"
  [ "$(cat "$pausefile")" = "$pid" ] || fail "paused pid is not the copy's"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$pausefile"
  grep -q "^copied $id_a: 32 chunks sent" first.out || fail "first run: $(cat first.out)"
  [ "$(VMBACKUP_KEY_FILE=$k vmb --repo "$to" list | awk 'NR>1 {print $1}')" = "$id_a" ] \
    || fail "after the kill $to lists: $(VMBACKUP_KEY_FILE=$k vmb --repo "$to" list)"
  vmb copy --to "$to" --to-key-file "$key" --all > second.out \
    || fail "second run: $(cat second.out)"
  grep -q "^skipped $id_a: already in" second.out || fail "a not skipped: $(cat second.out)"
  # b's first chunks were sent before the kill: at most 128 go now.
  sent=$(sed -n "s|^copied $id_b: \([0-9]*\) chunks sent.*|\1|p" second.out)
  [ -n "$sent" ] && [ "$sent" -le 128 ] || fail "second run sent ${sent:-?} of b's chunks: $(cat second.out)"
  VMBACKUP_KEY_FILE=$k vmb --repo "$to" gc | grep -q "deleted 0 chunks" \
    || fail "gc in $to deleted something"
  VMBACKUP_KEY_FILE=$k vmb --repo "$to" verify | tail -1 \
    | grep -q "verified 2 backups, .*: 0 problems" || fail "$to does not verify"
  VMBACKUP_KEY_FILE=$k vmb --repo "$to" restore "$id_a" --to "$key.a" >/dev/null
  VMBACKUP_KEY_FILE=$k vmb --repo "$to" restore "$id_b" --to "$key.b" >/dev/null
  cmp a.img "$key.a" && cmp b.img "$key.b" || fail "restore from $to differs"
}

killed_copy "$scratch/local-target" local.key

if [ "$(id -u)" = 0 ] && command -v ssh >/dev/null; then
  start_sshd
  authorize_key
  mkdir -p srv
  killed_copy "ssh://root@127.0.0.1:$ssh_port$scratch/srv/target" ssh.key
else
  echo "$0: ssh half skipped (needs root and ssh)"
fi
echo OK
