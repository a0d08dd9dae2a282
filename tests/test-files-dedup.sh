#!/usr/bin/env bash
# A second file backup after small changes stores little: content-defined
# chunks are found again around the changes.  A file that keeps changing
# while it is read is stored, marked and reported (event 3000).
source "$(dirname "$0")/functions.sh"
requires python3
cd "$scratch"
vmb init >/dev/null

# ~48 MiB of incompressible data in files of many sizes.
python3 - "$scratch/src" <<'PY'
import os, random, sys
random.seed(7)
top = sys.argv[1]
for d in range(8):
    os.makedirs(f"{top}/d{d}")
    for f in range(40):
        size = random.choice([0, 1, 100, 4096, 30000, 200000, 1 << 20])
        with open(f"{top}/d{d}/f{f}", "wb") as out:
            out.write(os.urandom(size))
with open(f"{top}/big", "wb") as out:
    out.write(os.urandom(10 << 20))
PY

# "5.5 MiB new" -> bytes
new_bytes () {
  sed -nE 's/.* ([0-9.]+) (B|KiB|MiB|GiB) new,.*/\1 \2/p' "$1" | awk '
    { m = $2 == "GiB" ? 2^30 : $2 == "MiB" ? 2^20 : $2 == "KiB" ? 1024 : 1;
      printf "%d\n", $1 * m }'
}

vmb files backup --name d src > b1.out || fail "backup 1: $(cat b1.out)"
first=$(new_bytes b1.out)
[ "$first" -gt $((40 << 20)) ] || fail "first backup stored only $first bytes"

# Unchanged: nothing is read again (size, mtime, ctime and inode as the
# last backup has them), and only metadata is stored (maps, events).
vmb files backup --name d src > b2.out || fail "backup 2"
grep -q " 0 B read, " b2.out || fail "unchanged files were read: $(cat b2.out)"
[ "$(new_bytes b2.out)" -lt $((512 << 10)) ] \
  || fail "unchanged tree stored $(cat b2.out)"
vmb files backup --name d --reread src > b2r.out || fail "backup --reread"
grep -qE " [4-9][0-9]\.[0-9] MiB read, " b2r.out || fail "--reread: $(cat b2r.out)"

# Small changes: append to three files, change one byte in the middle of
# the big one, add two files, touch one.
for f in src/d1/f3 src/d4/f10 src/d6/f39; do echo appended >> "$f"; done
printf 'Z' | dd of=src/big bs=1 seek=$((5 << 20)) conv=notrunc status=none
head -c 50000 /dev/urandom > src/d2/new1
head -c 700 /dev/urandom > src/d7/new2
touch src/d0/f0
# Same size, same mtime, new contents: ctime gives it away.
cp -p src/d3/f5 ref
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(10); f.write(b"CHANGED"); f.close()' src/d3/f5
touch -r ref src/d3/f5
vmb files backup --name d src > b3.out || fail "backup 3"
changed=$(new_bytes b3.out)
# Each change costs about one average chunk (1 MiB) of data, at worst
# a maximum one; 6 places (the first backup stored over 40 MiB).
[ "$changed" -lt $((16 << 20)) ] || fail "small changes stored $(cat b3.out)"
echo "first $first, unchanged $(new_bytes b2.out), changed $changed bytes new"

id=$(last_id d)
vmb files restore "$id" --to out >/dev/null || fail "restore"
diff -r src "out$scratch/src" || fail "restore of the third backup differs"

# Changed while read: the test hook appends to the file between reading
# it and checking it again, every time.
echo "log line" > src/grow.log
VMBACKUP_TEST_GROW_WHILE_READ=$scratch/src/grow.log \
  vmb files backup --name d src > b4.out 2> b4.err || fail "backup 4: $(cat b4.err)"
grep -q "warning: 1 file changed while read and may be inconsistent (event 3000)" b4.err \
  || fail "no changed-while-read warning: $(cat b4.err)"
vmb events d | grep -qE "warning +3000 d +$scratch/src/grow.log changed while it was read" \
  || fail "no event 3000: $(vmb events d)"
id=$(last_id d)
vmb files ls "$id" "$scratch/src/grow.log" | grep -q "(changed while read)" || fail "ls does not mark it"
vmb files restore "$id" --to out4 "$scratch/src/grow.log" >/dev/null || fail "restore 4"
# Stored as last read: the first line and two of the three appends.
[ "$(head -1 "out4$scratch/src/grow.log")" = "log line" ] || fail "grow.log content"
[ "$(stat -c %s "out4$scratch/src/grow.log")" = 11 ] \
  || fail "grow.log: $(stat -c %s "out4$scratch/src/grow.log") bytes"
vmb verify | tail -1 | grep -q ": 0 problems" || fail "verify"
echo OK
