#!/usr/bin/env bash
# A repository reached over a real ssh link (sshd on 127.0.0.1) works as
# a local one: init, file backup of a tree with every kind of metadata,
# ls, restore (identical), a second backup deduplicated, a disk image
# backed up and restored, list, verify, prune and gc run on the server;
# the repository verifies clean locally afterwards.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
source "$(dirname "$0")/files-tree.sh"
requires setfattr
requires setfacl
requires getfacl
requires_root "chown, mknod, sshd"
compare="python3 $(cd "$(dirname "$0")" && pwd)/files-compare.py"
cd "$scratch"
start_sshd
authorize_key
url=ssh://root@127.0.0.1:$ssh_port$scratch/repo
export VMBACKUP_REPO=$url

vmb init --chunk-size 1M > init.out || fail "init over ssh: $(cat init.out)"
grep -q "created repository $url (chunk size 1.0 MiB)" init.out \
  || fail "init: $(cat init.out)"
[ -f "$scratch/repo/config" ] || fail "no repository on the server side"
expect_fail 1 "directory is not empty" vmb init

src=$scratch/src
backup_tree
vmb files ls "$id" > ls.out
grep -qE "^-rwsr-xr-x 1234/5678 +1 2021-02-03T04:05:06Z $src/one$" ls.out \
  || fail "ls over ssh: $(grep /one ls.out)"

vmb files restore "$id" --to full > restore.out 2> restore.err \
  || fail "restore: $(cat restore.out restore.err)"
[ ! -s restore.err ] || fail "restore warned: $(cat restore.err)"
$compare "$src" "full$src" || fail "tree restored over ssh differs"
( cd "$src" && getfacl -R . ) > acl.src 2>/dev/null
( cd "full$src" && getfacl -R . ) > acl.out 2>/dev/null
diff acl.src acl.out || fail "ACLs differ"
[ "$(stat -c %i "full$src/three")" = "$(stat -c %i "full$src/private/three-again")" ] \
  || fail "hard link restored as a copy"
[ "$(stat -c %b "full$src/sparse")" -le 4096 ] || fail "sparse file not sparse"

# Again with --reread: every chunk is already on the server.
vmb files backup --name tree --reread "$src" > backup2.out \
  || fail "second backup: $(cat backup2.out)"
grep -qE ', [0-9.]+ (B|KiB) new,' backup2.out \
  || fail "second backup stored data again: $(cat backup2.out)"

# And without: unchanged files are not read, their chunks reused by
# reference (checked ahead over the link); the result restores the same.
vmb files backup --name tree "$src" > backup3.out || fail "third backup: $(cat backup3.out)"
grep -qE ', 0 B read, ' backup3.out || fail "unchanged files read again: $(cat backup3.out)"
vmb files restore tree --to again > /dev/null || fail "restore of the third backup"
$compare "$src" "again$src" || fail "tree of reused chunks differs"

# A disk image, sparse, through the same link.
truncate -s 64M disk.img
put_random disk.img 3 5
put_random disk.img 40 2
vmb backup --image disk=$scratch/disk.img > img.out || fail "image backup: $(cat img.out)"
vmb restore disk --to "$scratch/disk2.img" > img-restore.out \
  || fail "image restore: $(cat img-restore.out)"
cmp disk.img disk2.img || fail "image restored over ssh differs"

[ "$(vmb list | wc -l)" = 5 ] || fail "list over ssh: $(vmb list)"
vmb list --json | python3 -c 'import json, sys; assert len(json.load(sys.stdin)) == 4' \
  || fail "list --json over ssh"
vmb verify > verify.out || fail "verify over ssh: $(cat verify.out)"
grep -q "verified 4 backups, .*: 0 problems" verify.out || fail "verify: $(cat verify.out)"
vmb verify "$id" > verify1.out || fail "verify ID over ssh: $(cat verify1.out)"
grep -q "verified 1 backup," verify1.out || fail "verify ID: $(cat verify1.out)"

# Damage a chunk on the server: verify over ssh reports it, by backup.
chunk=$(find "$scratch/repo/chunks" -type f -size +100k -print -quit)
cp "$chunk" saved-chunk
printf 'garbage' | dd of="$chunk" bs=1 seek=100 conv=notrunc status=none
rc=0; vmb verify > bad.out || rc=$?
[ $rc = 1 ] || fail "verify of a damaged chunk over ssh: exit $rc"
grep -qE "^BAD backup .* offset [0-9]+: .*checksum mismatch .moved to quarantine" bad.out \
  || fail "damage not reported: $(cat bad.out)"
cp saved-chunk "$chunk"         # what the next backup of that data would do
VMBACKUP_REPO=$scratch/repo vmb verify > local-verify0.out \
  || fail "local verify after repair: $(cat local-verify0.out)"

# prune and gc, with a key that may delete.
vmb prune tree --keep-last 1 > prune.out || fail "prune over ssh: $(cat prune.out)"
grep -q "^remove $id" prune.out || fail "prune: $(cat prune.out)"
vmb gc > gc.out || fail "gc over ssh: $(cat gc.out)"
grep -qE "deleted [1-9][0-9]* chunks" gc.out || fail "gc: $(cat gc.out)"
expect_fail 1 "no backup named tree-nope" vmb restore tree-nope --to x.img

VMBACKUP_REPO=$scratch/repo vmb verify > local-verify.out \
  || fail "local verify after remote use: $(cat local-verify.out)"
[ -z "$(ls -A "$scratch/repo/tmp")" ] || fail "files left in tmp/: $(ls "$scratch/repo/tmp")"
[ -z "$(ls -A "$scratch/repo/locks/writers")" ] || fail "writer registrations left"

# Bad URLs and a far end that is not vmbackup serve: one-line errors.
expect_fail 1 "not a repository URL" vmb --repo ssh://-oProxyCommand=x/y list
expect_fail 1 "not a repository URL" vmb --repo ssh://host:99999/y list
VMBACKUP_REMOTE_PATH=/bin/false expect_fail 1 "connection to the server lost" vmb list
VMBACKUP_REMOTE_PATH="echo hello there;" expect_fail 1 "is the far end 'vmbackup serve'" vmb list
expect_fail 1 "no such repository" vmb --repo "ssh://root@127.0.0.1:$ssh_port/nonexistent" list
echo OK
