#!/usr/bin/env bash
# prune keeps what the rules select, --dry-run changes nothing, and gc
# then frees exactly the chunks no remaining backup needs.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd

cd "$scratch"
vmb init --chunk-size 1M >/dev/null
truncate -s 32M d.img e.img
put_random e.img 0 4
for i in 1 2 3 4 5; do
  put_random d.img $((i * 4)) 4      # each backup adds 4 new chunks
  cp d.img "d$i.img"
  vmb backup --image d=d.img >/dev/null
  sleep 1.1                          # distinct IDs by time
done
vmb backup --image e=e.img >/dev/null
[ "$(vmb list d | wc -l)" = 6 ] || fail "expected 5 backups of d"

vmb prune d --keep-last 2 --dry-run > dry.out
grep -q "would remove 3 backups" dry.out || fail "dry run: $(cat dry.out)"
[ "$(vmb list d | wc -l)" = 6 ] || fail "--dry-run deleted backups"

before=$(find "$VMBACKUP_REPO/chunks" -type f | wc -l)
vmb prune d --keep-last 2 > prune.out
[ "$(grep -c '^remove ' prune.out)" = 3 ] || fail "prune: $(cat prune.out)"
[ "$(vmb list d | wc -l)" = 3 ] || fail "prune kept the wrong number"
[ "$(vmb list e | wc -l)" = 2 ] || fail "prune d touched backups of e"
# Only the newest two remain.
vmb list d | awk 'NR>1 {print $1}' > kept
vmb restore "$(sed -n 2p kept)" --to r5.img >/dev/null && cmp d5.img r5.img || fail "newest backup not kept"
vmb restore "$(sed -n 1p kept)" --to r4.img >/dev/null && cmp d4.img r4.img || fail "second newest not kept"

# gc: the pruned backups' own chunks (one 4 MiB step each for backups 1-3
# are shared with 4-5, since data only accumulates) -- nothing of d4/d5/e
# may go.  Chunks are old enough only after the gc safety margin.
sleep 2.5
vmb gc > gc.out
after=$(find "$VMBACKUP_REPO/chunks" -type f | wc -l)
grep -q "deleted 0 chunks, 3 indexes" gc.out || fail "gc: $(cat gc.out)"
[ "$after" = "$before" ] || fail "gc deleted chunks still in use"
vmb verify | tail -1 | grep -q ": 0 problems" || fail "verify after gc"

# Now forget everything of d but the newest: d4's only-own chunks remain
# shared, so make a backup whose chunks are its own and drop it.
truncate -s 8M own.img; put_random own.img 0 8
vmb backup --image own=own.img >/dev/null
rm "$VMBACKUP_REPO"/backups/own/*
sleep 2.5
vmb gc --dry-run | grep -q "would delete 8 chunks" || fail "gc --dry-run: $(vmb gc --dry-run)"
[ "$(find "$VMBACKUP_REPO/chunks" -type f | wc -l)" = $((after + 8)) ] || fail "gc --dry-run deleted"
vmb gc | grep -q "deleted 8 chunks" || fail "gc did not free the unreferenced chunks"
vmb verify | tail -1 | grep -q "verified 3 backups.*: 0 problems" || fail "verify after second gc"
echo OK
