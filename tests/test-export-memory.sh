#!/usr/bin/env bash
# The export's memory is bounded by its chunk cache, not by the disk:
# nbdcopy reads a 256 MiB disk of incompressible data through nbdkit
# and the plugin with cache=4M, gets it byte for byte, and nbdkit's
# peak resident size stays far below the disk's size.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-export.sh"
requires nbdcopy
cd "$scratch"

vmb init --chunk-size 1M >/dev/null
head -c 256M /dev/urandom > big.img
vmb backup --image big=big.img >/dev/null
sock=$scratch/s
"${nbdkit[@]}" -f -U "$sock" "$plugin" repo="$VMBACKUP_REPO" backup=big cache=4M \
  2> nbdkit.err &
nbdkit_pid=$!
cleanup_fn "kill $nbdkit_pid 2>/dev/null"
for _ in $(seq 300); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "nbdkit did not listen: $(cat nbdkit.err)"

nbdcopy "$(nbd_sock "$sock")" copy.img || fail "nbdcopy: $(cat nbdkit.err)"
cmp big.img copy.img || fail "the copy differs"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$nbdkit_pid/status")
echo "nbdkit peak RSS: $hwm KiB for a 256 MiB disk, cache=4M"
[ "$hwm" -lt "$(rss_bound $((96 * 1024)))" ] || fail "nbdkit peaked at $hwm KiB: memory is not bounded by the cache"
kill "$nbdkit_pid"
wait "$nbdkit_pid" || true
echo OK
