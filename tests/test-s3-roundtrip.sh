#!/usr/bin/env bash
# A repository on S3 (a real single-node Ceph cluster) works as a local
# one: init (encrypted, and in the clear), image backups full and
# incremental restored byte-identical, a file backup, list --json,
# verify with and without the key, key slots, prune and gc, events.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires python3
requires qemu-nbd
: "${S3CHECK:=$(dirname "$VMBACKUP")/tests/s3check}"
[ -x "$S3CHECK" ] || fail "s3check not built: $S3CHECK"
start_ceph
cd "$scratch"
export VMBACKUP_S3_ENDPOINT=$s3_endpoint
url=s3://vmb/hosts/one
export VMBACKUP_REPO=$url
export XDG_CACHE_HOME=$scratch/cache

# init makes the missing bucket; an encrypted repository by default.
vmb init --chunk-size 1M > init.out || fail "init on S3: $(cat init.out)"
grep -q "created repository $url" init.out || fail "init: $(cat init.out)"
"$S3CHECK" $url list > objects
grep -q '^config ' objects || fail "no config object: $(cat objects)"
grep -qE '^keys/[0-9a-f]{16} ' objects || fail "no key slot object: $(cat objects)"
expect_fail 1 "not empty" vmb init
expect_fail 1 "not a vmbackup repository" vmb --repo s3://vmb/nothing list

# A full backup of a sparse image, then an incremental one of a changed
# copy: both restore byte-identical, the second stores only the change.
truncate -s 64M disk.img
put_random disk.img 1 6
put_random disk.img 40 3
vmb backup --image disk=$scratch/disk.img > b1.out || fail "backup: $(cat b1.out)"
grep -q "9.0 MiB new" b1.out || fail "backup: $(cat b1.out)"
id1=$(last_id disk)
cp disk.img disk-v1.img
put_random disk.img 20 1
vmb backup --image disk=$scratch/disk.img > b2.out || fail "backup 2: $(cat b2.out)"
grep -qE ", 1\.[0-9] MiB new" b2.out ||
  fail "second backup stored more than the change: $(cat b2.out)"
id2=$(last_id disk)
[ "$id1" != "$id2" ] || fail "one backup ID for two backups"
vmb restore "$id1" --to r1.img > /dev/null || fail "restore $id1"
cmp disk-v1.img r1.img || fail "first backup restored differs"
vmb restore "$id2" --to r2.img > /dev/null || fail "restore $id2"
cmp disk.img r2.img || fail "second backup restored differs"
[ "$(du -k r2.img | cut -f1)" -lt 20000 ] || fail "restore is not sparse"
# The indexes are kept in the local cache; a damaged cache is not the
# repository: without it (another host) the same restore works.
ls "$scratch"/cache/vmbackup/s3/*/indexes/*.idx > cached || fail "no index cache"
[ "$(wc -l < cached)" = 2 ] || fail "index cache: $(cat cached)"
XDG_CACHE_HOME=$scratch/cache2 vmb restore "$id1" --to r1b.img > /dev/null ||
  fail "restore with an empty cache"
cmp disk-v1.img r1b.img || fail "restore with an empty cache differs"

# Files, with the events of the backup.
mkdir -p tree/sub
head -c 300000 /dev/urandom > tree/a
echo hello > tree/sub/b
vmb files backup --name tree "$scratch/tree" > f.out || fail "files backup: $(cat f.out)"
vmb files restore tree --to ftree > /dev/null || fail "files restore"
cmp tree/a "ftree$scratch/tree/a" && cmp tree/sub/b "ftree$scratch/tree/sub/b" ||
  fail "files restored differ"

vmb list --json | python3 -c '
import json, sys
b = json.load(sys.stdin)
assert sorted(x["name"] for x in b) == ["disk", "disk", "tree"], b
d = [x for x in b if x["name"] == "disk"]
assert all(x["logical_size"] == 64 << 20 for x in d), d
' || fail "list --json on S3"
vmb events disk > events.out || fail "events: $(cat events.out)"
grep -q "disk" events.out || fail "events: $(cat events.out)"

# verify: with the key, and without it (the stored bytes' checks only).
vmb verify > v.out || fail "verify: $(cat v.out)"
grep -q "verified 3 backups, .*: 0 problems" v.out || fail "verify: $(cat v.out)"
env -u VMBACKUP_KEY_FILE "$VMBACKUP" verify > v2.out || fail "verify without key: $(cat v2.out)"
grep -q "0 problems" v2.out || fail "verify without key: $(cat v2.out)"
expect_fail 1 "" env -u VMBACKUP_KEY_FILE VMBACKUP_PASSWORD=wrong "$VMBACKUP" list

# Key slots are objects of their own.
VMBACKUP_NEW_PASSWORD=second vmb key add --label two > ka.out || fail "key add: $(cat ka.out)"
[ "$(vmb key list | grep -c .)" -ge 3 ] || fail "key list: $(vmb key list)"
env -u VMBACKUP_KEY_FILE VMBACKUP_PASSWORD=second "$VMBACKUP" list > /dev/null ||
  fail "the new passphrase does not open the repository"
vmb info > info.out || fail "info: $(cat info.out)"
grep -q "$url" info.out || fail "info: $(cat info.out)"
slot=$(vmb key list --json | python3 -c '
import json, sys
print([k["id"] for k in json.load(sys.stdin) if k.get("label") == "two"][0])') ||
  fail "key list --json: $(vmb key list --json)"
vmb key remove "$slot" > /dev/null || fail "key remove $slot"
expect_fail 1 "" env -u VMBACKUP_KEY_FILE VMBACKUP_PASSWORD=second "$VMBACKUP" list
expect_fail 1 "has no key slot $slot" vmb key remove "$slot"
vmb files ls tree > ls.out || fail "files ls: $(cat ls.out)"
grep -q "$scratch/tree/sub/b" ls.out || fail "files ls: $(cat ls.out)"

# A damaged chunk: verify finds it (and quarantines it).
key=$("$S3CHECK" $url list chunks/ | awk 'NR==1 {print $1}')
"$S3CHECK" $url get "$key" > chunk
printf 'X' | dd of=chunk bs=1 seek=100 conv=notrunc status=none
"$S3CHECK" $url put "$key" chunk || fail "cannot damage $key"
rc=0; vmb verify > bad.out || rc=$?
[ $rc = 1 ] || fail "verify of a damaged chunk: exit $rc: $(cat bad.out)"
# Put it back whole, for prune and gc.
vmb backup --image disk=$scratch/disk.img > /dev/null || fail "backup 3"
vmb backup --image disk=$scratch/disk-v1.img > /dev/null || fail "backup 4"
vmb files backup --name tree --reread "$scratch/tree" > /dev/null || fail "files backup 2"

# prune keeps the last disk backup and the last tree backup (the ones
# made after the damage, which stored every chunk they use again: the
# damaged chunk, whichever listed first, may have been one only an older
# backup used, such as the first tree backup's catalogue); gc deletes
# what only the others used.
vmb prune disk --keep-last 1 > prune.out || fail "prune: $(cat prune.out)"
grep -q "^remove $id1" prune.out || fail "prune: $(cat prune.out)"
vmb prune tree --keep-last 1 > prune-tree.out || fail "prune tree: $(cat prune-tree.out)"
vmb gc --dry-run > gcd.out || fail "gc --dry-run: $(cat gcd.out)"
vmb gc > gc.out || fail "gc: $(cat gc.out)"
grep -qE "deleted [1-9][0-9]* chunks" gc.out || fail "gc deleted nothing: $(cat gc.out)"
vmb gc > gc2.out || fail "second gc: $(cat gc2.out)"
grep -qE "deleted 0 chunks, 0 indexes" gc2.out || fail "second gc: $(cat gc2.out)"
[ -z "$("$S3CHECK" $url list locks/)" ] ||
  fail "a lease was left behind: $("$S3CHECK" $url list locks/)"
vmb verify > v3.out || fail "verify after gc: $(cat v3.out)"
vmb restore "$(last_id disk)" --to r4.img > /dev/null || fail "restore after gc"
cmp disk-v1.img r4.img || fail "restore after gc differs"
vmb files restore tree --to ftree2 > /dev/null || fail "files restore after gc"
cmp tree/a "ftree2$scratch/tree/a" || fail "files after gc differ"

# copy: from S3 into a directory with another key, and from there into
# a second S3 repository; the copies restore identical.
last=$(last_id disk)
vmb --repo "$scratch/local" --key-file "$scratch/k2" init --chunk-size 1M > /dev/null || fail "local init"
vmb copy --to "$scratch/local" --to-key-file "$scratch/k2" --all > copy1.out ||
  fail "copy from S3: $(cat copy1.out)"
vmb --repo "$scratch/local" --key-file "$scratch/k2" restore "$last" --to c1.img > /dev/null ||
  fail "restore the copy from S3"
cmp disk-v1.img c1.img || fail "the copy from S3 differs"
vmb --repo s3://vmb/hosts/copy --key-file "$scratch/k3" init --chunk-size 1M > /dev/null || fail "second S3 init"
vmb copy --from "$scratch/local" --from-key-file "$scratch/k2" \
  --to s3://vmb/hosts/copy --to-key-file "$scratch/k3" --all > copy2.out ||
  fail "copy into S3: $(cat copy2.out)"
vmb --repo s3://vmb/hosts/copy --key-file "$scratch/k3" restore "$last" --to c2.img > /dev/null ||
  fail "restore the copy in S3"
cmp disk-v1.img c2.img || fail "the copy into S3 differs"
vmb --repo s3://vmb/hosts/copy --key-file "$scratch/k3" verify > cv.out ||
  fail "verify the copy in S3: $(cat cv.out)"

# A repository in the clear, beside it under another prefix.
in_the_clear
export VMBACKUP_REPO=s3://vmb/hosts/clear
vmb --s3-endpoint "$s3_endpoint" init --encryption none > /dev/null ||
  fail "init --encryption none"
env -u VMBACKUP_S3_ENDPOINT "$VMBACKUP" --s3-endpoint "$s3_endpoint" \
  backup --image disk=$scratch/disk.img > /dev/null || fail "backup in the clear (--s3-endpoint)"
vmb restore disk --to rc.img > /dev/null || fail "restore in the clear"
cmp disk.img rc.img || fail "restore in the clear differs"
echo OK
