#!/usr/bin/env bash
# File backups live in the same repository as image backups: list shows
# both; gc keeps every chunk a file backup needs (data, catalogue, and
# their maps) and frees them once the backup is pruned; verify reads
# them and names a damaged one by stream and offset.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
cd "$scratch"
vmb init --chunk-size 1M >/dev/null

truncate -s 16M disk.img
put_random disk.img 2 3
vmb backup --image img=disk.img >/dev/null

chunks () { find "$VMBACKUP_REPO/chunks" -type f | sort; }
chunks > c0
# Two file backups of the same path with nothing in common.
mkdir -p tree/sub
head -c 6M /dev/urandom > tree/a
head -c 3000 /dev/urandom > tree/sub/b
vmb files backup --name docs tree >/dev/null
chunks > c1
sleep 1.1
rm -r tree; mkdir -p tree/other
head -c 5M /dev/urandom > tree/c
head -c 100 /dev/urandom > tree/other/d
vmb files backup --name docs tree >/dev/null
chunks > c2
first_only=$(comm -13 c0 c1)
[ "$(wc -l <<<"$first_only")" -ge 4 ] || fail "first file backup stored $(wc -l <<<"$first_only") chunks"

vmb list > list.out
grep -qE "^img/.* offline +image$" list.out || fail "list: $(cat list.out)"
[ "$(grep -cE "^docs/.* live +files$" list.out)" = 2 ] || fail "list: $(cat list.out)"
vmb list --json | python3 -c '
import json, sys
k = sorted(b["kind"] for b in json.load(sys.stdin))
assert k == ["files", "files", "image"], k
' || fail "list --json kinds"
vmb verify > v.out || fail "verify: $(cat v.out)"
grep -q "verified 3 backups" v.out || fail "verify: $(cat v.out)"

# gc with everything referenced deletes nothing.
sleep 2.5
vmb gc > gc.out
grep -q "deleted 0 chunks, 0 indexes" gc.out || fail "gc: $(cat gc.out)"
chunks | cmp -s - c2 || fail "gc deleted chunks a backup uses"
docs2=$(last_id docs)
vmb files restore "$(vmb list docs | awk 'NR==2 {print $1}')" --to r1 >/dev/null \
  || fail "restore of the first file backup after gc"

# Prune the first file backup: gc frees exactly its own chunks.
vmb prune docs --keep-last 1 | grep -q "^remove docs/" || fail "prune"
sleep 2.5
vmb gc > gc2.out
left=$(comm -12 <(chunks) <(printf '%s\n' "$first_only"))
[ -z "$left" ] || fail "gc kept chunks only the pruned file backup used: $left"
chunks > c3
[ "$(comm -23 c2 c3 | wc -l)" = "$(wc -l <<<"$first_only")" ] \
  || fail "gc deleted other chunks too: $(cat gc2.out)"
vmb verify | tail -1 | grep -q "verified 2 backups.*: 0 problems" || fail "verify after gc"
vmb files restore "$docs2" --to r2 >/dev/null || fail "restore after gc"
cmp tree/c "r2$scratch/tree/c" || fail "second file backup damaged by gc"
vmb restore img --to img.out >/dev/null && cmp disk.img img.out || fail "image damaged by gc"

# A flipped byte in a data chunk of the file backup: verify names it.
victim=$(comm -13 c1 c2 | xargs ls -S | head -1)
printf '\xff' | dd of="$victim" bs=1 seek=100 conv=notrunc status=none
vmb verify > v2.out && fail "verify missed a damaged chunk"
grep -qE "^BAD backup $docs2 data stream offset [0-9]+: .*(checksum|digest)" v2.out \
  || fail "verify report: $(cat v2.out)"
expect_fail 1 "restore $docs2: .*data stream offset" vmb files restore "$docs2" --to r3
echo OK
