#!/usr/bin/env bash
# Back up raw, qcow2 and qcow2-with-backing images; restore each as raw and
# as qcow2; the data is byte-identical and holes stay holes.
source "$(dirname "$0")/functions.sh"
requires qemu-img
requires qemu-nbd
requires qemu-io
requires python3

cd "$scratch"
vmb init >/dev/null

# raw: 256 MiB with data at odd places, including a partial last chunk.
truncate -s 258M raw.img
put_random raw.img 0 3
put_random raw.img 100 9
put_random raw.img 257 1
# qcow2 with a backing file; the overlay changes part of the base.
qemu-img create -q -f qcow2 base.qcow2 200M
qemu-io -f qcow2 -c 'write -P 0x61 0 5M' -c 'write -P 0x62 50M 7M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -f qcow2 -c 'write -P 0x63 4M 2M' -c 'write -z 52M 1M' top.qcow2 >/dev/null

vmb backup --image raw=raw.img --image base=base.qcow2 --image top=top.qcow2 \
  > backup.out
grep -q "3 of 3 backups succeeded" backup.out || fail "backup summary: $(cat backup.out)"

# raw restore: identical and sparse.
vmb restore raw --to raw.out >/dev/null
cmp raw.img raw.out || fail "raw restore differs"
used=$(du -k raw.out | cut -f1)
[ "$used" -lt 20000 ] || fail "raw restore is not sparse ($used KiB used)"

# qcow2 restores keep their format unless asked.
vmb restore top --to top.out >/dev/null
[ "$(qemu-img info --output=json top.out | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')" = qcow2 ] \
  || fail "qcow2 backup did not restore as qcow2"
qemu-img compare -q top.qcow2 top.out || fail "qcow2 (with backing) restore differs"
alloc=$(qemu-img info --output=json top.out | python3 -c 'import json,sys; print(json.load(sys.stdin)["actual-size"])')
[ "$alloc" -lt $((40 << 20)) ] || fail "qcow2 restore is not thin ($alloc bytes)"
vmb restore top --to top.raw --format raw >/dev/null
qemu-img compare -q -f qcow2 -F raw top.qcow2 top.raw || fail "qcow2 -> raw restore differs"
vmb restore base --to base.out --format qcow2 >/dev/null
qemu-img compare -q base.qcow2 base.out || fail "base restore differs"

# list shows one line per backup with the promised columns; --json agrees.
vmb list > list.out
[ "$(wc -l < list.out)" = 4 ] || fail "list: $(cat list.out)"
grep -qE '^raw/[0-9]{8}T[0-9]{6}Z +[0-9-]+T[0-9:]+Z +258\.0 MiB +13\.0 MiB +offline +image$' list.out \
  || fail "list line for raw: $(grep ^raw list.out)"
vmb list --json | python3 -c '
import json, sys
b = {x["name"]: x for x in json.load(sys.stdin)}
assert set(b) == {"raw", "base", "top"}, b
assert b["raw"]["logical_size"] == 258 << 20
assert b["raw"]["stored_new"] > 12 << 20  # random data does not shrink
assert b["top"]["disks"][0]["format"] == "qcow2"
assert all(x["consistency"] == "offline" for x in b.values())
' || fail "list --json"
[ "$(vmb list base | wc -l)" = 2 ] || fail "list NAME filters"

# An image backup restores to a file: without --to it says so.
expect_fail 2 "backup raw/.* is a disk image: give --to PATH" vmb restore raw

# Restoring over an existing file is refused and leaves it alone.
echo keep > exists
expect_fail 1 "exists already|already exists" vmb restore raw --to exists
[ "$(cat exists)" = keep ] || fail "restore overwrote an existing file"

# A raw file whose size is not a multiple of 512 comes back exactly.
head -c 3158073 /dev/urandom > odd.img
vmb backup --image odd=odd.img >/dev/null
vmb restore odd --to odd.out >/dev/null
cmp odd.img odd.out || fail "odd-sized raw image restored as $(stat -c %s odd.out) bytes"

# A disk that repeats one block stores it once.
head -c 4M /dev/urandom > blk
for _ in $(seq 16); do cat blk; done > rep.img
vmb backup --image rep=rep.img | grep -q "64.0 MiB read, 4.0 MiB new" \
  || fail "repeated block stored more than once"
vmb restore rep --to rep.out >/dev/null && cmp rep.img rep.out || fail "rep restore"

vmb verify | tail -1 | grep -q "verified 5 backups.*: 0 problems" || fail "verify"
echo OK
