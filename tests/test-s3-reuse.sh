#!/usr/bin/env bash
# An image backup on S3 asks the server nothing about a chunk that its
# previous backup has at the same place: while its lease lives no gc
# works, so such a chunk stays.  Counted in radosgw's own log of the
# requests it served: an unchanged second backup sends no HEAD for a
# chunk.  A chunk verify quarantined is asked about (and stored again)
# by the next backup, which then verifies; a backup after one chunk
# changed asks about that one and the quarantined one, and restores
# byte-identical.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires qemu-nbd
start_ceph_repo s3://vmb/reuse
vmb init --chunk-size 256K > /dev/null || fail "init"
rgwlog=$ceph_dir/log/client.rgw.a.log

# chunk_heads COMMAND...: run it, and print how many HEADs of a chunk
# radosgw served meanwhile.
chunk_heads ()
{
  local before
  before=$(grep -c 'HEAD /vmb/reuse/chunks/' "$rgwlog" || true)
  "$@" > cmd.out 2>&1 || fail "$*: $(cat cmd.out)"
  echo $(( $(grep -c 'HEAD /vmb/reuse/chunks/' "$rgwlog" || true) - before ))
}

head -c 24M /dev/urandom > disk.img
n=$(chunk_heads "$VMBACKUP" backup --image disk=$scratch/disk.img)
[ "$n" -ge 96 ] || fail "the first backup asked about $n chunks, not its 96: is the request log on?"
# Objects under quarantine/ that are no chunk's name (someone else's):
# ignored, nothing to avoid.
echo junk > junk
"$S3CHECK" $VMBACKUP_REPO put quarantine/not-a-digest junk || fail "put quarantine/not-a-digest"
"$S3CHECK" $VMBACKUP_REPO put "quarantine/$(printf 'g%.0s' $(seq 64))" junk || fail "put quarantine/ggg..."
n=$(chunk_heads "$VMBACKUP" backup --image disk=$scratch/disk.img)
[ "$n" = 0 ] || fail "an unchanged backup asked about $n chunks its previous backup names"

# verify quarantines a damaged chunk (every chunk is the image's); the
# next backup of the same data asks about it and stores it again.
key=$("$S3CHECK" $VMBACKUP_REPO list chunks/ | awk 'NR==1 {print $1}')
"$S3CHECK" $VMBACKUP_REPO get "$key" > chunk
printf 'X' | dd of=chunk bs=1 seek=100 conv=notrunc status=none
"$S3CHECK" $VMBACKUP_REPO put "$key" chunk || fail "cannot damage $key"
rc=0; vmb verify > bad.out 2>&1 || rc=$?
[ $rc = 1 ] || fail "verify of a damaged chunk: exit $rc: $(cat bad.out)"
"$S3CHECK" $VMBACKUP_REPO list quarantine/ | grep -qE '^quarantine/[0-9a-f]{64}' ||
  fail "verify quarantined nothing: $("$S3CHECK" $VMBACKUP_REPO list quarantine/)"
n=$(chunk_heads "$VMBACKUP" backup --image disk=$scratch/disk.img)
[ "$n" = 1 ] || fail "the backup after the quarantine asked about $n chunks, not the quarantined one"
vmb verify "$(last_id disk)" > v.out 2>&1 || fail "the backup after the quarantine: $(cat v.out)"

# One chunk changed: a question about it, and (its copy kept in
# quarantine/) about the chunk that was quarantined.
dd if=/dev/urandom of=disk.img bs=256K count=1 seek=10 conv=notrunc status=none
n=$(chunk_heads "$VMBACKUP" backup --image disk=$scratch/disk.img)
[ "$n" = 2 ] || fail "a backup with one chunk changed asked about $n chunks, not 2"
vmb restore "$(last_id disk)" --to r.img > /dev/null || fail "restore"
cmp disk.img r.img || fail "restored differs"
vmb verify > v2.out 2>&1 || fail "verify at the end: $(cat v2.out)"
echo OK
