#!/usr/bin/env bash
# The config file carries a checksum: a chunk size (or ID) changed by
# hand is refused by every command with one line naming the file, instead
# of being used silently by new backups.  A config written before there
# were checksums (no checksum line) still works for everything.
source "$(dirname "$0")/functions.sh"
in_the_clear  # it edits the config text by hand
requires qemu-nbd

cd "$scratch"
vmb init --encryption none --chunk-size 64K >/dev/null
cfg=$VMBACKUP_REPO/config
grep -qE '^checksum [0-9a-f]{64}$' "$cfg" || { cat "$cfg"; fail "init wrote no checksum line"; }
truncate -s 1M disk.img
put_random disk.img 0 1
vmb backup --image c=disk.img >/dev/null
id=$(last_id c)
cp "$cfg" config.saved

refused ()
{
  local what=$1
  shift
  expect_fail 1 "^vmbackup: .*$cfg: checksum mismatch" "$@"
  [ "$(wc -l < "$scratch/err")" = 1 ] || { cat "$scratch/err"; fail "$what: not one line"; }
}

# The chunk size edited by hand.
sed -i 's/^chunk-size 65536$/chunk-size 131072/' "$cfg"
refused list vmb list
refused backup vmb backup --image c=disk.img
refused verify vmb verify
refused restore vmb restore "$id" --to out.img
[ ! -e out.img ] || fail "refused restore wrote a file"
[ "$(ls "$VMBACKUP_REPO/backups/c" | wc -l)" = 1 ] || fail "a backup was made with the edited config"

# A wrong checksum, values untouched.
cp config.saved "$cfg"
# The first hex digit turned into another one (0 into 1, anything else
# into 0), so the change happens whatever the checksum was.
sed -i 's/^checksum 0/checksum X/; s/^checksum [1-9a-f]/checksum 0/; s/^checksum X/checksum 1/' "$cfg"
cmp -s "$cfg" config.saved && fail "test did not change the checksum"
refused "wrong checksum" vmb list

# A config from before checksums: the three lines alone.
grep -v '^checksum ' config.saved > "$cfg"
vmb list c | grep -q "$id" || fail "old-format config: list"
vmb backup --image c=disk.img >/dev/null || fail "old-format config: backup"
vmb verify >/dev/null || fail "old-format config: verify"
vmb restore "$id" --to out.img >/dev/null && cmp disk.img out.img || fail "old-format config: restore"
echo OK
