#!/usr/bin/env bash
# Benchmark: incremental backups of a running libvirt VM, vmbackup
# against virtnbdbackup (-l full, then -l inc), on the same guest and the
# same changes, in one run.
#
# Boots the tiny test guest (tests/vm) with a 4 GiB qcow2 data disk
# holding ~1.5 GiB of files (made on the host), then:
#   1. for each tool in turn (virtnbdbackup refuses to work beside another
#      tool's checkpoints): a full backup (cold cache), then BENCH_ROUNDS
#      times ~100 MiB rewritten in place inside the guest (random data
#      over parts of four files, the same places for both tools) and an
#      incremental; the tool's checkpoints are deleted after its turn;
#   2. the disk grown to 16 GiB (guest shut down, qemu-img resize, started
#      again), and the same for each tool with one round: the cost should
#      follow the changed bytes, not the disk size.
# vmbackup's last incremental is restored and the changed files checked
# against the guest's own checksums.  See bench/README.md.
#
# Environment:
#   VMBACKUP          vmbackup binary (default: ../build/vmbackup from here)
#   BENCH_DIR         parent of the scratch directory (default: /var/tmp)
#   BENCH_ROUNDS      change + incremental rounds on the 4 GiB disk (default 2)
#   VMB_KEEP_LIBVIRT  1: leave libvirtd/virtlogd running if we started them
#
# Exit status: 0 done, 1 failure, 77 a required tool is missing.
set -euo pipefail

BENCH_TAG=bench-incremental
NAME=vmb-bench-inc
TOOLS=(vmbackup virtnbdbackup)
ROUNDS=${BENCH_ROUNDS:-2}
BENCH_NEEDS=(virtnbdbackup virsh qemu-system-x86_64 qemu-img openssl base64 awk
             debugfs sha256sum du find)

# shellcheck source=vm-bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/vm-bench-lib.sh"

repo=$work/repo
vnb=$work/vnb
step_out () {   # TOOL: where the tool writes (one chain per tool)
  case $1 in vmbackup) echo "$repo" ;; virtnbdbackup) echo "$vnb" ;; esac
}

# backup TOOL LEVEL STEP: one timed backup; LEVEL is full or inc.
backup () {
  local tool=$1 level=$2 step=$3 out
  out=$(step_out "$tool")
  case $tool in
    vmbackup)
      timed_backup "$tool" "$step" "$out" "$VMBACKUP" --repo "$out" backup "$NAME" ||
        die "vmbackup failed"
      if [[ $level == inc ]]; then
        grep -q "(1 incremental)" "$work/log-$tool-$step" ||
          die "vmbackup $step was not incremental: $(cat "$work/log-$tool-$step")"
      fi
      ;;
    virtnbdbackup)
      timed_backup "$tool" "$step" "$out" \
        virtnbdbackup -d "$NAME" -l "$level" -o "$out" -n ||
        die "virtnbdbackup -l $level failed"
      ;;
  esac
  [[ $(vsh domstate "$NAME") == running ]] || die "$NAME not running after $tool $step"
  # Both write into a directory that grows: count what this step added.
  ADDED[$tool,$step]=$(( ${STORED[$tool,$step]} - ${LAST_SIZE[$tool]:-0} ))
  LAST_SIZE[$tool]=${STORED[$tool,$step]}
  say "  $tool $step: wall ${WALL[$tool,$step]} s, cpu ${CPU[$tool,$step]} s, qemu ${QCPU[$tool,$step]} s, added ${ADDED[$tool,$step]} bytes"
}
declare -A ADDED LAST_SIZE

# change N: rewrite 4 x 25 MiB in place inside the guest (files r0..r15).
# Round N touches the same places whichever tool's turn it is.
change () {
  local n=$1 cmd="" i f
  for i in 0 1 2 3; do
    f=$(( (n * 4 + i) % 16 ))
    cmd+="dd if=/dev/urandom of=/data/random/r$f.bin bs=1M count=25 seek=$(( 8 + n * 3 )) conv=notrunc 2>/dev/null; "
  done
  guest_exec "$NAME" "$cmd sync" > /dev/null || die "change $n in the guest failed"
  CHANGED_FILE=/random/r$(( n * 4 % 16 )).bin
}

# chain TOOL SUFFIX ROUNDS: a full backup, then ROUNDS times a change and
# an incremental.  virtnbdbackup refuses to run beside another tool's
# checkpoints ("foreign checkpoint"), so the tools take turns on the VM,
# each with its own chain, and the same changes (same files, offsets and
# sizes; fresh random data, so nothing deduplicates).  The turn ends by
# deleting the tool's checkpoints.
chain () {
  local tool=$1 sfx=$2 rounds=$3 r
  say "$tool: full backup ($sfx GiB disk)"
  backup "$tool" full "full$sfx"
  for r in $(seq 1 "$rounds"); do
    change "$r"
    say "$tool: incremental $r ($sfx GiB disk)"
    backup "$tool" inc "inc$sfx-$r"
  done
  delete_checkpoints
}

# ---- run ------------------------------------------------------------------

vm_bench_guest
# An untimed backup first: the first backup job after the guest boots is
# slower for reasons that are not the tool's (see bench-vm.sh).
say "warm-up backup, not counted"
"$VMBACKUP" --repo "$work/repo-warm" init > /dev/null
"$VMBACKUP" --repo "$work/repo-warm" backup "$NAME" > /dev/null || die "warm-up backup failed"
rm -rf "$work/repo-warm"
delete_checkpoints
"$VMBACKUP" --repo "$repo" init > /dev/null
mkdir -p "$vnb"
chain vmbackup 4 "$ROUNDS"
chain virtnbdbackup 4 "$ROUNDS"

say "growing the disk to 16 GiB"
vsh shutdown "$NAME" > /dev/null
for _ in $(seq 1 300); do [[ $(vsh domstate "$NAME") == "shut off" ]] && break; sleep 0.2; done
[[ $(vsh domstate "$NAME") == "shut off" ]] || die "guest did not shut down"
qemu-img resize -q "$guest_disk" 16G
start_guest "$NAME"
wait_agent "$NAME" 300
qemu_pid=$(cat "/run/libvirt/qemu/$NAME.pid")
# New chains: virtnbdbackup wants an empty directory for a full backup,
# vmbackup reads the resized disk whole by itself.  This time
# virtnbdbackup goes first.
vnb=$work/vnb16
mkdir -p "$vnb"
LAST_SIZE[virtnbdbackup]=0
chain virtnbdbackup 16 1
chain vmbackup 16 1

say "checking vmbackup's last incremental: restore, compare $CHANGED_FILE"
want=$(guest_exec "$NAME" "sha256sum /data$CHANGED_FILE" | cut -d' ' -f1)
"$VMBACKUP" --repo "$repo" restore "$NAME" --disk vda --to "$work/restored.raw" \
  --format raw > "$work/log-restore" 2>&1 || { cat "$work/log-restore" >&2; die "restore failed"; }
[[ $(debugfs -R "cat $CHANGED_FILE" "$work/restored.raw" 2>/dev/null | sha256sum | cut -d' ' -f1) == "$want" ]] ||
  die "restored $CHANGED_FILE differs from the guest's"
[[ $(debugfs -R "cat /random/r7.bin" "$work/restored.raw" 2>/dev/null | sha256sum | cut -d' ' -f1) != "" ]] ||
  die "restored disk unreadable"
rm -f "$work/restored.raw"
say "restored incremental holds the guest's changed file"

# ---- report ---------------------------------------------------------------

# The best (minimum wall) of the 4 GiB incremental rounds, per tool.
best_inc () {
  local tool=$1 best="" r
  for r in $(seq 1 "$ROUNDS"); do
    if [[ -z $best ]] || awk -v a="${WALL[$tool,inc4-$r]}" -v b="${WALL[$tool,$best]}" 'BEGIN { exit !(a < b) }'; then
      best=inc4-$r
    fi
  done
  echo "$best"
}

echo
echo "incremental backups of running VM $NAME (qcow2, ~1.5 GiB used; ~100 MiB"
echo "rewritten in the guest before each inc), cold cache.  wall = tool + fsync of"
echo "what it wrote; cpu = user+sys of the tool; qemu = CPU of the guest's qemu."
echo "virtnbdbackup: stream format, no compression (its default, and its fastest)."
printf '%-10s %-14s %8s %8s %8s %14s\n' step tool "wall s" "cpu s" "qemu s" "added bytes"
steps=(full4)
for r in $(seq 1 "$ROUNDS"); do steps+=("inc4-$r"); done
steps+=(full16 inc16-1)
for step in "${steps[@]}"; do
  for tool in "${TOOLS[@]}"; do
    printf '%-10s %-14s %8.2f %8.2f %8.2f %14s\n' "$step" "$tool" "${WALL[$tool,$step]}" \
      "${CPU[$tool,$step]}" "${QCPU[$tool,$step]}" "${ADDED[$tool,$step]}"
  done
done
vb=$(best_inc vmbackup); nb=$(best_inc virtnbdbackup)
echo
echo "ratios virtnbdbackup/vmbackup (>1: vmbackup wins); incrementals best of $ROUNDS"
echo "full (4 GiB):        $(ratio "${WALL[virtnbdbackup,full4]}" "${WALL[vmbackup,full4]}")x wall (target >= 2x)"
echo "incremental (4 GiB): $(ratio "${WALL[virtnbdbackup,$nb]}" "${WALL[vmbackup,$vb]}")x wall (target >= 3x)"
echo "incremental (16 GiB): $(ratio "${WALL[virtnbdbackup,inc16-1]}" "${WALL[vmbackup,inc16-1]}")x wall"
echo "vmbackup incremental 16 GiB / 4 GiB: $(ratio "${WALL[vmbackup,inc16-1]}" "${WALL[vmbackup,$vb]}")x wall (target <= 1.2x)"
echo "virtnbdbackup incremental 16 GiB / 4 GiB: $(ratio "${WALL[virtnbdbackup,inc16-1]}" "${WALL[virtnbdbackup,$nb]}")x wall"
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
