#!/usr/bin/env bash
# A damaged chunk in an exported backup: reads of its range fail with
# an I/O error (every time: nothing wrong is cached), reads of the other
# ranges return the right bytes, and event 2040 names the backup and
# the offset.  Then the same for a missing chunk.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-export.sh"
requires qemu-img
requires qemu-io
requires python3
cd "$scratch"

vmb init --chunk-size 1M >/dev/null
truncate -s 8M disk.img
put_random disk.img 0 8
vmb backup --image d=disk.img >/dev/null
id=$(last_id d)

# The stored chunk holding disk offset $1 MiB (the index lists chunk
# names, keyed ones in an encrypted repository; it is not secret).
chunk_at ()
{
  python3 - "$VMBACKUP_REPO" "$1" <<'PY'
import glob, sys
repo, mib = sys.argv[1], int(sys.argv[2])
idx = glob.glob(repo + "/indexes/*.idx")[0]
data = open(idx, "rb").read()
d = data[64 + 32 * mib: 64 + 32 * (mib + 1)].hex()
print(f"{repo}/chunks/{d[:2]}/{d}")
PY
}

# read_fails URI OFFSET LEN: qemu-io reports an I/O error for the range.
read_fails ()
{
  qemu-io -r -f raw "$1" -c "read $2 $3" > qio.out 2>&1 || true
  grep -q "Input/output error" qio.out \
    || fail "read $2+$3 did not fail with EIO: $(cat qio.out)"
}

# The rest of the disk (MiB 0-2 and 4-7) reads right.
others_read_right ()
{
  local uri=$1
  for range in "0 3" "4 4"; do
    set -- $range
    rm -f part.out
    # qemu-img dd's count includes the skipped blocks.
    qemu-img dd -f raw -O raw bs=1M skip="$1" count=$(($1 + $2)) if="$uri" \
      of=part.out 2>/dev/null || fail "reading MiB $1+$2 failed"
    dd if=disk.img bs=1M skip="$1" count="$2" status=none > part.want
    cmp part.want part.out || fail "MiB $1+$2 read wrong"
  done
}

c=$(chunk_at 3)
[ -f "$c" ] || fail "no chunk file at $c"
cp "$c" saved
printf '\xff' | dd of="$c" bs=1 seek=5000 conv=notrunc status=none

start_export exp.out d --socket "$scratch/s"
uri=$(nbd_sock "$scratch/s")
read_fails "$uri" 3M 4k
read_fails "$uri" 3M 1M
read_fails "$uri" 2M 2M    # spans a good and the bad chunk
others_read_right "$uri"
read_fails "$uri" 3584k 4k # again: the failure was not cached
# The export is still serving.
kill -0 "$export_pid" || fail "export died after a damaged chunk"
vmb events d > events.out
grep -qE "error +2040 d .*backup $id: read of [0-9]+ bytes at offset 3145728 failed: disk d offset 3145728: .*chunk" \
  events.out || fail "no event 2040 for the damaged chunk: $(cat events.out)"

# Missing chunk: the same EIO and event.
rm "$c"
read_fails "$uri" 3M 4k
others_read_right "$uri"
stop_export
[ "$(grep -c ' 2040 ' <(vmb events d))" -ge 5 ] || fail "events: $(vmb events d)"
grep -q "offset 3145728.*missing" <(vmb events d) \
  || fail "missing chunk not named: $(vmb events d)"

# Put back, it reads whole again.
cp saved "$c"
start_export exp.out d --socket "$scratch/s"
qemu-img compare -q -f raw disk.img "$uri" || fail "repaired export differs"
stop_export
echo OK
