#!/usr/bin/env bash
# Every key source opens an encrypted repository for the export, as for
# any command: a passphrase from $VMBACKUP_PASSWORD or a password file,
# an exported master key as --key-file; the plugin alone reads the same
# environment (and key-file=).  The key never appears on nbdkit's
# command line or in its environment.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-export.sh"
requires qemu-img
cd "$scratch"

vmb init >/dev/null
truncate -s 8M disk.img
put_random disk.img 1 2
vmb backup --image d=disk.img >/dev/null
VMBACKUP_NEW_PASSWORD='correct horse' vmb key add --label pw >/dev/null
vmb key export --to master.txt >/dev/null
key_file=$VMBACKUP_KEY_FILE
unset VMBACKUP_KEY_FILE
sock=$scratch/s
uri=$(nbd_sock "$sock")

serves_right ()
{
  start_export exp.out d --socket "$sock"
  qemu-img compare -q -f raw disk.img "$uri" || fail "$1: export differs"
  nbdkit_pid=$(pgrep -o -f "^nbdkit .*-U $sock ")
  ! tr '\0' '\n' < "/proc/$nbdkit_pid/cmdline" | grep -q "horse\|^key " \
    || fail "$1: the key is on nbdkit's command line"
  ! tr '\0' '\n' < "/proc/$nbdkit_pid/environ" | grep -q "horse" \
    || fail "$1: the passphrase is in nbdkit's environment"
  stop_export
}

VMBACKUP_PASSWORD='correct horse' serves_right '$VMBACKUP_PASSWORD'
echo 'correct horse' > pw.txt
VMBACKUP_PASSWORD_FILE=$scratch/pw.txt serves_right '$VMBACKUP_PASSWORD_FILE'
VMBACKUP_KEY_FILE=$scratch/master.txt serves_right 'exported master key'
VMBACKUP_PASSWORD='wrong horse' expect_fail 1 "wrong passphrase" \
  vmb export d --socket "$sock"
[ ! -e "$sock" ] || fail "a wrong passphrase left a socket"

# The plugin alone.
plugin_serves ()
{
  "${nbdkit[@]}" -U - "$plugin" repo="$VMBACKUP_REPO" backup=d "$@" \
    --run 'env -u LD_PRELOAD qemu-img compare -q -f raw disk.img "$uri"' \
    || fail "plugin with $*"
}
VMBACKUP_PASSWORD='correct horse' plugin_serves
VMBACKUP_PASSWORD_FILE=$scratch/pw.txt plugin_serves
plugin_serves key-file="$key_file"
plugin_serves key-file="$scratch/master.txt"
rc=0
timeout 60 "${nbdkit[@]}" -f -U "$sock" "$plugin" repo="$VMBACKUP_REPO" backup=d \
  > plug.out 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q "is encrypted and no key was given" plug.out \
  || fail "plugin without a key: exit $rc: $(cat plug.out)"
echo OK
