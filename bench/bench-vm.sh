#!/usr/bin/env bash
# Benchmark: a full backup of a running libvirt VM, vmbackup against
# virtnbdbackup.
#
# Boots the tiny test guest (tests/vm) with a 4 GiB qcow2 data disk that
# holds ~1.5 GiB of files (1 GiB random, 0.5 GiB log-like text), all
# made on the host, then times a full live backup with each tool, twice,
# alternating (vmbackup, vmbackup at zstd level 3, virtnbdbackup, ...),
# each into a fresh target from a cold page cache.  The level-3 run shows
# what vmbackup's default (level 1) trades; the target compares the
# defaults.  Restores vmbackup's backup
# and checks it with fsck.ext4.  See bench/README.md.
#
# Environment:
#   VMBACKUP          vmbackup binary (default: ../build/vmbackup from here)
#   BENCH_DIR         parent of the scratch directory (default: /var/tmp)
#   BENCH_RUNS        rounds of (vmbackup, virtnbdbackup) (default: 2)
#   BENCH_WARMUP      0: no untimed warm-up round before them (default: 1)
#   VMB_KEEP_LIBVIRT  1: leave libvirtd/virtlogd running if we started them
#   VMB_GUEST_DIR     where the test guest's kernel/initramfs are cached
#
# Exit status: 0 done, 1 failure (including a vmbackup backup that does
# not restore to a clean filesystem), 77 a required tool is missing.
set -euo pipefail

BENCH_TAG=bench-vm
NAME=vmb-bench
# vmbackup: defaults (an encrypted repository, as init makes by default);
# vmbackup-clear: the same into a repository in the clear, for the cost
# of encryption (issue 13: at most 10% of wall time).
TOOLS=(vmbackup vmbackup-clear vmbackup-z3 virtnbdbackup)
mapfile -t RUNS < <(seq "${BENCH_RUNS:-2}")
BENCH_NEEDS=(virtnbdbackup virsh qemu-system-x86_64 qemu-img openssl base64 awk
             fsck.ext4 debugfs sha256sum du find)

# Tool checks, scratch directory, test data and guest: see the file.
# shellcheck source=vm-bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/vm-bench-lib.sh"

# ---- measuring ------------------------------------------------------------

VNB_LEVEL=full
run_tool () {    # TOOL RUN
  local tool=$1 run=$2 out
  case $tool in
    vmbackup|vmbackup-clear|vmbackup-z3)
      local level=() vmb=("$VMBACKUP") enc=()
      [[ $tool != vmbackup-z3 ]] || level=(--compression 3)
      # A key given for a repository in the clear is refused.
      [[ $tool != vmbackup-clear ]] ||
        { vmb=(env -u VMBACKUP_KEY_FILE "$VMBACKUP"); enc=(--encryption none); }
      out=$work/repo-$tool-$run
      "${vmb[@]}" --repo "$out" init "${enc[@]}" > /dev/null
      timed_backup "$tool" "$run" "$out" "${vmb[@]}" --repo "$out" backup \
        "${level[@]}" "$NAME" || die "$tool failed"
      grep -q "^backup $NAME/.*: application," "$work/log-$tool-$run" ||
        die "vmbackup run $run was not live and application-consistent: $(cat "$work/log-$tool-$run")"
      # Its checkpoint would make virtnbdbackup refuse ("foreign
      # checkpoint"): every run starts from a VM without any.
      delete_checkpoints
      ;;
    virtnbdbackup)
      out=$work/vnb-$run
      if ! timed_backup "$tool" "$run" "$out" \
             virtnbdbackup -d "$NAME" -l "$VNB_LEVEL" -o "$out" -n; then
        # -l full needs libvirt checkpoints (qcow2 disks, incremental
        # backup support); -l copy is the same full read without one.
        [[ $VNB_LEVEL == full ]] || die "virtnbdbackup failed"
        echo "bench-vm: virtnbdbackup -l full failed; using -l copy instead" >&2
        VNB_LEVEL=copy
        delete_checkpoints
        rm -rf "$out"
        timed_backup "$tool" "$run" "$out" \
          virtnbdbackup -d "$NAME" -l "$VNB_LEVEL" -o "$out" -n ||
          die "virtnbdbackup failed"
      fi
      delete_checkpoints
      ;;
  esac
  [[ $(vsh domstate "$NAME") == running ]] || die "$NAME not running after $tool run $run"
}

# ---- run ------------------------------------------------------------------

vm_bench_guest

# One untimed round first: the first backup after the guest boots (and
# after the test data was made and deleted) is slower for reasons that
# are not the tool's: qemu's first backup job, and on a host that is
# itself a VM with free-page reporting, page-cache pages the hypervisor
# has to fault back in.  Whichever tool ran first would pay for it.
warm=()
(( ${BENCH_WARMUP:-1} == 0 )) || warm=(w)
for run in "${warm[@]}" "${RUNS[@]}"; do
  for tool in "${TOOLS[@]}"; do
    if [[ $run == w ]]; then
      say "warm-up: $tool full backup, not counted"
    else
      say "run $run: $tool full backup"
    fi
    run_tool "$tool" "$run"
    [[ $tool == virtnbdbackup ]] || say "  $(tail -n 1 "$work/log-$tool-$run")"
    say "  wall ${WALL[$tool,$run]} s (flush ${FLUSH[$tool,$run]} s), cpu ${CPU[$tool,$run]} s (qemu ${QCPU[$tool,$run]} s), stored ${STORED[$tool,$run]} bytes, host busy ${BUSY[$tool,$run]}% before"
  done
  [[ $run != w ]] || rm -rf "$work"/repo-*-w "$work/vnb-w"
done

say "virtnbdbackup wrote:"
(cd "$work/vnb-${RUNS[-1]}" && find . -type f -printf '%s\t%p\n' | sort -k2 | sed 's/^/bench-vm:   /')

say "verifying vmbackup's backup: restore vda, fsck, two files"
t0=$(now)
"$VMBACKUP" --repo "$work/repo-vmbackup-${RUNS[-1]}" restore "$NAME" --disk vda --to "$work/restored.raw" \
  --format raw > "$work/log-restore" 2>&1 || { cat "$work/log-restore" >&2; die "restore failed"; }
restore_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
fsck.ext4 -n -f "$work/restored.raw" > "$work/fsck.out" 2>&1 ||
  { cat "$work/fsck.out" >&2; die "restored disk is not a clean ext4"; }
[[ $(debugfs -R "cat /random/r7.bin" "$work/restored.raw" 2>/dev/null | sha256sum | cut -d' ' -f1) == "$sha_r" ]] ||
  die "restored /random/r7.bin differs"
[[ $(debugfs -R "cat /text/t3.log" "$work/restored.raw" 2>/dev/null | sha256sum | cut -d' ' -f1) == "$sha_t" ]] ||
  die "restored /text/t3.log differs"
say "restore (warm cache) took $restore_s s; fsck.ext4 -n -f clean, files identical"
rm -f "$work/restored.raw"

# ---- report ---------------------------------------------------------------

declare -A BEST
for tool in "${TOOLS[@]}"; do
  best=${RUNS[0]}
  for run in "${RUNS[@]}"; do
    if awk -v a="${WALL[$tool,$run]}" -v b="${WALL[$tool,$best]}" 'BEGIN { exit !(a < b) }'; then
      best=$run
    fi
  done
  BEST[$tool]=$best
done

echo
echo "full backup of running VM $NAME (4 GiB qcow2, ~1.5 GiB used), cold cache."
echo "wall = tool + fsync of what it wrote (flush); cpu = user+sys of the tool;"
echo "qemu = CPU the guest's qemu (its NBD server) used meanwhile;"
echo "busy% = host CPU busy in the second before the run (others' noise)."
echo "vmbackup: defaults (encrypted, zstd level 1); vmbackup-clear: in the clear;"
echo "vmbackup-z3: --compression 3."
echo "virtnbdbackup: -l $VNB_LEVEL, stream format, no compression."
printf '%-4s %-14s %8s %8s %8s %8s %8s %14s %6s\n' \
  run tool "wall s" "tool s" "flush s" "cpu s" "qemu s" "stored bytes" "busy%"
for run in "${RUNS[@]}"; do
  for tool in "${TOOLS[@]}"; do
    printf '%-4s %-14s %8.2f %8.2f %8.2f %8.2f %8.2f %14s %6s\n' "$run" "$tool" \
      "${WALL[$tool,$run]}" "${TOOLWALL[$tool,$run]}" "${FLUSH[$tool,$run]}" \
      "${CPU[$tool,$run]}" "${QCPU[$tool,$run]}" "${STORED[$tool,$run]}" "${BUSY[$tool,$run]}"
  done
done
echo
echo "best of ${#RUNS[@]} (minimum wall); ratios are tool/vmbackup (>1: vmbackup wins)"
printf '%-14s %8s %8s %8s %14s %8s %8s %8s\n' \
  tool "wall s" "cpu s" "qemu s" "stored bytes" "wall x" "cpu x" "stored x"
vb=${BEST[vmbackup]}
for tool in "${TOOLS[@]}"; do
  b=${BEST[$tool]}
  printf '%-14s %8.2f %8.2f %8.2f %14s %8s %8s %8s\n' "$tool" \
    "${WALL[$tool,$b]}" "${CPU[$tool,$b]}" "${QCPU[$tool,$b]}" "${STORED[$tool,$b]}" \
    "$(ratio "${WALL[$tool,$b]}" "${WALL[vmbackup,$vb]}")" \
    "$(ratio "${CPU[$tool,$b]}" "${CPU[vmbackup,$vb]}")" \
    "$(ratio "${STORED[$tool,$b]}" "${STORED[vmbackup,$vb]}")"
done
echo
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
b=${BEST[virtnbdbackup]}
z3=${BEST[vmbackup-z3]}
echo "virtnbdbackup/vmbackup-z3 wall: $(ratio "${WALL[virtnbdbackup,$b]}" "${WALL[vmbackup-z3,$z3]}")x (level 3, for comparison)"
cl=${BEST[vmbackup-clear]}
echo "vmbackup/vmbackup-clear wall: $(ratio "${WALL[vmbackup,$vb]}" "${WALL[vmbackup-clear,$cl]}")x (encryption's cost; target <= 1.10x)"
echo "virtnbdbackup/vmbackup wall: $(ratio "${WALL[virtnbdbackup,$b]}" "${WALL[vmbackup,$vb]}")x (target >= 3x)"
