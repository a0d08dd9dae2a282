#!/usr/bin/env bash
# A file backup of a tree with every kind of entry and metadata restores
# identically (contents, modes, owners, ns mtimes, xattrs, ACLs, hard
# links, holes); a subset restores alone; a restore without root works
# with one warning per kind of thing it could not do.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/files-tree.sh"
requires setfattr
requires setfacl
requires getfacl
requires python3
requires setpriv
requires_root "chown, mknod, and restoring as another user"
compare="python3 $(cd "$(dirname "$0")" && pwd)/files-compare.py"
cd "$scratch"
vmb init >/dev/null

src=$scratch/src
backup_tree
vmb list | grep -qE "^tree/.* live +files$" || fail "list: $(vmb list)"

# ls: the entries, ls -l style.
vmb files ls "$id" > ls.out
grep -qE "^-rwsr-xr-x 1234/5678 +1 2021-02-03T04:05:06Z $src/one$" ls.out \
  || fail "ls one: $(grep /one ls.out)"
grep -qE "^lrwxrwxrwx .* $src/link -> three$" ls.out || fail "ls link"
grep -qE "^crw-r--r-- root/root +1,3 .* $src/null-dev$" ls.out || fail "ls dev"
# Catalogue order: private/three-again comes first and holds the data.
grep -qE "^-.* $src/three link to $src/private/three-again$" ls.out \
  || fail "ls hard link: $(grep three ls.out)"
[ "$(vmb files ls "$id" "$src/deep/er" | wc -l)" = 3 ] || fail "ls PATH"
vmb files ls --json "$id" "$src/three" | python3 -c '
import json, sys
e, = json.load(sys.stdin)
assert e["type"] == "file" and e["size"] == 3 << 20 and e["mtime_nsec"] == 123456789, e
assert "user.comment" in e["xattrs"], e
' || fail "ls --json"

# Full restore, as root: identical.
vmb files restore "$id" --to full > restore.out 2> restore.err \
  || fail "restore: $(cat restore.out restore.err)"
[ ! -s restore.err ] || fail "root restore warned: $(cat restore.err)"
$compare "$src" "full$src" || fail "restored tree differs"
( cd "$src" && getfacl -R . ) > acl.src 2>/dev/null
( cd "full$src" && getfacl -R . ) > acl.out 2>/dev/null
diff acl.src acl.out || fail "ACLs differ"
grep -q "default:user:1234:rw-" acl.out || fail "default ACL missing"
[ "$(stat -c %i "full$src/three")" = "$(stat -c %i "full$src/private/three-again")" ] \
  || fail "hard link restored as a copy"
[ "$(stat -c %h "full$src/three")" = 2 ] || fail "link count"
used=$(du -k "full$src/sparse" | cut -f1)
[ "$used" -le 2048 ] || fail "sparse file restored with $used KiB allocated"
[ "$(stat -c %b "full$src/sparse")" -le 4096 ] || fail "sparse: $(stat -c %b "full$src/sparse") blocks"

# Restore again over the first: existing files are replaced, same tree.
vmb files restore "$id" --to full >/dev/null || fail "restore over itself"
$compare "$src" "full$src" || fail "restore over an existing tree differs"

# A subset: the named path and what is under it (a hard link whose
# first name is not restored gets the data).
vmb files restore "$id" --to part "$src/three" "$src/deep/er/" >/dev/null \
  || fail "subset restore"
[ -e "part$src/one" ] && fail "subset restored an unselected file"
[ -e "part$src/deep/s1" ] && fail "subset restored a sibling"
[ -e "part$src/private" ] && fail "subset restored an unselected directory"
$compare "$src" "part$src" --only three deep/er || fail "subset differs"
cmp "$src/three" "part$src/three" || fail "hard link data in subset"
expect_fail 1 "no /nope in the backup" vmb files restore "$id" --to part2 /nope

# Without root: everything it may do, one warning per kind, exit 0.
chmod 755 "$scratch"
cp -a "$VMBACKUP_REPO" nobody-repo
chown -R 65534:65534 nobody-repo
mkdir nobody-out && chown 65534:65534 nobody-out
touch nobody-events.log && chown 65534:65534 nobody-events.log
# The user who restores holds the key too.
cp "$VMBACKUP_KEY_FILE" nobody.key && chown 65534:65534 nobody.key
VMBACKUP_EVENT_LOG=$scratch/nobody-events.log \
  VMBACKUP_KEY_FILE=$scratch/nobody.key \
  setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$VMBACKUP" --repo "$scratch/nobody-repo" files restore "$id" \
  --to nobody-out > nobody.out 2> nobody.err \
  || fail "non-root restore failed: $(cat nobody.out nobody.err)"
grep -q "warning: ownership of [0-9]* entries not restored (needs root)" nobody.err \
  || fail "no ownership warning: $(cat nobody.err)"
grep -q "warning: 1 device node not created (needs root)" nobody.err \
  || fail "no device warning: $(cat nobody.err)"
[ "$(wc -l < nobody.err)" -le 3 ] || fail "more than one line per kind: $(cat nobody.err)"
$compare "$src" "nobody-out$src" --no-owner --no-devices || fail "non-root restore differs"
grep -q '"id": 3010' nobody-events.log || fail "no event 3010"

# A file backup is not a disk image, and the other way round.
expect_fail 2 "is a files backup|not a file backup" vmb restore "$id" --to x.img
echo OK
