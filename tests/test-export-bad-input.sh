#!/usr/bin/env bash
# Bad input to vmbackup export: one clear line, non-zero exit, and
# nothing served or created (no socket, no nbdkit).
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-export.sh"
cd "$scratch"

vmb init >/dev/null
truncate -s 8M disk.img
put_random disk.img 0 1
vmb backup --image d=disk.img >/dev/null
mkdir tree && echo hello > tree/f
vmb files backup --name t tree >/dev/null
id=$(last_id d)
sock=$scratch/s

nothing_served ()
{
  [ ! -e "$sock" ] || fail "$1: a socket was created"
  ! pgrep -f "^nbdkit .*-U $sock " >/dev/null || fail "$1: nbdkit runs"
  [ "$(wc -l < "$scratch/err")" = 1 ] || fail "$1: error is not one line: $(cat "$scratch/err")"
}

expect_fail 1 "^vmbackup: .*nosuch" vmb export nosuch --socket "$sock"
nothing_served "unknown name"
expect_fail 1 "^vmbackup: .*d/20000101T000000Z" vmb export d/20000101T000000Z --socket "$sock"
nothing_served "unknown ID"
expect_fail 1 "^vmbackup: backup $id has no disk vdz$" vmb export d --disk vdz --socket "$sock"
nothing_served "unknown disk"
expect_fail 1 "^vmbackup: backup t/.* is a files backup: it has no disk to export$" \
  vmb export t --socket "$sock"
nothing_served "files backup"
expect_fail 2 "give one of --socket PATH or --port N" vmb export d
expect_fail 2 "give one of --socket PATH or --port N" vmb export d --socket "$sock" --port 10809
expect_fail 2 "--bind goes with --port" vmb export d --socket "$sock" --bind 127.0.0.1
expect_fail 2 "give exactly one backup ID" vmb export --socket "$sock"
expect_fail 2 "port" vmb export d --port 70000
echo keep > "$sock"
expect_fail 1 "^vmbackup: $sock already exists" vmb export d --socket "$sock"
[ "$(cat "$sock")" = keep ] || fail "an existing file at the socket path was touched"
rm "$sock"

# A wrong key, and no key at all (no terminal to ask on).
vmb --key-file "$scratch/other.key" init --repo "$scratch/other" >/dev/null
VMBACKUP_KEY_FILE=$scratch/other.key expect_fail 1 "^vmbackup: .*wrong key file" \
  vmb export d --socket "$sock"
nothing_served "wrong key"
( unset VMBACKUP_KEY_FILE; expect_fail 1 "is encrypted and no key was given" \
    vmb export d --socket "$sock" < /dev/null )
[ ! -e "$sock" ] || fail "no key: a socket was created"

# A key given for a repository in the clear is refused.
( in_the_clear; vmb init --repo "$scratch/clear" --encryption none >/dev/null )
expect_fail 1 "not encrypted; no key is needed" \
  vmb export d --repo "$scratch/clear" --socket "$sock"

# The plugin alone, as nbdkit loads it: bad parameters fail before
# nbdkit listens, with the reason.
plugin_fails ()
{
  local pattern=$1 rc=0
  shift
  timeout 60 "${nbdkit[@]}" -f -U "$sock" "$plugin" "$@" > plug.out 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "nbdkit $*: exit $rc, not 1: $(cat plug.out)"
  grep -qE "$pattern" plug.out || fail "nbdkit $*: $(cat plug.out)"
  [ ! -e "$sock" ] || fail "nbdkit $*: listened before failing"
}
plugin_fails "no backup named nosuch" repo="$VMBACKUP_REPO" backup=nosuch
plugin_fails "backup $id has no disk vdz" repo="$VMBACKUP_REPO" backup=d disk=vdz
plugin_fails "repo=DIR\|URL and backup=ID are required" backup=d
plugin_fails "wrong key file" repo="$VMBACKUP_REPO" backup=d key-file="$scratch/other.key"
plugin_fails "unknown parameter 'colour'" repo="$VMBACKUP_REPO" backup=d colour=red
echo OK
