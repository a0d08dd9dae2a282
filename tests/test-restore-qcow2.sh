#!/usr/bin/env bash
# Restore writes new qcow2 images itself (no qemu-nbd): for odd sizes, an
# empty disk, data spread over several L2 tables, a short last chunk, and
# the smallest and largest chunk sizes, the image passes qemu-img check,
# reads back identical to the source, and stays thin.
source "$(dirname "$0")/functions.sh"
requires qemu-img
requires qemu-io
requires qemu-nbd
requires python3

cd "$scratch"
qemu-img create -q -f qcow2 empty.qcow2 300M
qemu-img create -q -f qcow2 odd.qcow2 1000001
qemu-io -f qcow2 -c 'write -P 0x41 0 4096' -c 'write -P 0x42 983040 16384' odd.qcow2 >/dev/null
# 1.6 GiB: data in four of its 512 MiB L2 ranges, zeros inside a chunk,
# and the very last bytes.
qemu-img create -q -f qcow2 spread.qcow2 1637M
qemu-io -f qcow2 -c 'write -P 0x61 0 5M' -c 'write -z 1M 1M' \
  -c 'write -P 0x62 511M 2M' -c 'write -P 0x63 1100M 3M' \
  -c 'write -P 0x64 1636M 1M' spread.qcow2 >/dev/null

for cs in 64K 16M; do
  vmb --repo "repo-$cs" init --chunk-size "$cs" >/dev/null
  for img in empty odd spread; do
    vmb --repo "repo-$cs" backup --image "$img=$img.qcow2" >/dev/null ||
      fail "backup $img ($cs chunks)"
    out=$img-$cs.qcow2
    vmb --repo "repo-$cs" restore "$img" --to "$out" >/dev/null ||
      fail "restore $img ($cs chunks)"
    qemu-img check -q "$out" || fail "$out: qemu-img check failed"
    qemu-img compare -q "$img.qcow2" "$out" || fail "$out differs from $img.qcow2"
    [ "$(qemu-img info --output=json "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["format"])')" = qcow2 ] \
      || fail "$out is not qcow2"
  done
  # Thin: the restored 1.6 GiB image holds about its 11 MiB of data.
  used=$(du -k "spread-$cs.qcow2" | cut -f1)
  [ "$used" -lt $((40 * 1024)) ] || fail "spread-$cs.qcow2 uses $used KiB: not thin"
done
echo "qcow2 restores: checked, identical, thin"
