#!/usr/bin/env bash
# Benchmark: restoring a VM's disk, vmbackup against virtnbdrestore and
# restic.
#
# Boots the test guest of bench-vm.sh (4 GiB qcow2 data disk holding
# ~1.5 GiB of files: 1 GiB random, 0.5 GiB log-like text), backs it up
# untimed with vmbackup (live) and virtnbdbackup (-l full), shuts it off
# and backs up its vda.qcow2 file with restic.  Then times a restore of
# that disk with each tool, twice, alternating (vmbackup, virtnbdrestore,
# restic, ...), each into a fresh target from a cold page cache, and
# checks that the restored disks have the right contents.  See
# bench/README.md.
#
# Environment:
#   VMBACKUP          vmbackup binary (default: ../build/vmbackup from here)
#   BENCH_DIR         parent of the scratch directory (default: /var/tmp)
#   BENCH_RUNS        rounds of (vmbackup, virtnbdrestore, restic) (default: 2)
#   BENCH_WARMUP      0: no untimed warm-up round before them (default: 1)
#   VMB_KEEP_LIBVIRT  1: leave libvirtd/virtlogd running if we started them
#   VMB_GUEST_DIR     where the test guest's kernel/initramfs are cached
#
# Exit status: 0 done, 1 failure (including a restored disk whose
# contents are wrong), 77 a required tool is missing or not root.
set -euo pipefail

BENCH_TAG=bench-restore
NAME='vmb-bench-restore'
TOOLS=(vmbackup virtnbdrestore restic)
mapfile -t RUNS < <(seq "${BENCH_RUNS:-2}")
BENCH_NEEDS=(virtnbdbackup virtnbdrestore restic virsh qemu-system-x86_64
             qemu-img qemu-nbd openssl base64 awk sha256sum du find cmp pgrep)

# Tool checks, scratch directory, test data and guest: see the file.
# shellcheck source=vm-bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/vm-bench-lib.sh"

export RESTIC_PASSWORD=bench
export RESTIC_CACHE_DIR=$work/restic-cache

# ---- measuring ------------------------------------------------------------

# CPU jiffies (user, nice, system, irq, softirq) the whole host has used
# so far.  virtnbdrestore starts its qemu-nbd with --fork, so that
# qemu-nbd is no child of the tool and its CPU time only shows here.
host_jiffies () { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

declare -A WALL TOOLWALL FLUSH CPU HCPU ALLOC BUSY DISK

# timed TOOL RUN OUT DISK COMMAND...: run COMMAND from a cold cache and
# record its wall and CPU seconds (user+sys, waited-for children
# included), then fsync every file under OUT and add that time to the
# wall time, so every tool is timed until its disk is on disk.  DISK is
# the restored image under OUT; its allocated bytes are recorded.
timed () {
  local tool=$1 run=$2 out=$3 disk=$4; shift 4
  local log=$work/log-$tool-$run tf=$work/time-$tool-$run
  local rc=0 wall user sys t0 t1 h0
  drop_caches
  BUSY[$tool,$run]=$(busy_pct)
  h0=$(host_jiffies)
  time_into "$tf" "$log" "$@" || rc=$?
  if (( rc != 0 )); then
    echo "$BENCH_TAG: $tool run $run failed (exit $rc): $*" >&2
    tail -n 30 "$log" >&2
    return 1
  fi
  t0=$(now)
  find "$out" -type f -exec sync -- {} +
  t1=$(now)
  HCPU[$tool,$run]=$(awk -v a="$h0" -v b="$(host_jiffies)" -v hz="$CLK_TCK" \
                       'BEGIN { printf "%.2f", (b - a) / hz }')
  read -r wall user sys < <(tail -n 1 "$tf")
  TOOLWALL[$tool,$run]=$wall
  FLUSH[$tool,$run]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  WALL[$tool,$run]=$(awk -v w="$wall" -v f="${FLUSH[$tool,$run]}" 'BEGIN { printf "%.2f", w + f }')
  CPU[$tool,$run]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  [[ -f $disk ]] || die "$tool run $run wrote no $disk"
  ALLOC[$tool,$run]=$(stat -c '%b %B' "$disk" | awk '{ printf "%d", $1 * $2 }')
  DISK[$tool,$run]=$disk
}

# virtnbdrestore -i DIR -o OUT -d vda -n, and then wait until the
# qemu-nbd it started with --fork has flushed the image and exited (it
# does once virtnbdrestore disconnects): the restore is not done before.
# A script for bash -c, so that /usr/bin/time can run it.  TMPDIR: its
# socket and the qemu-img/qemu-nbd logs it leaves go to the scratch dir.
# shellcheck disable=SC2016  # expanded by the inner bash
VNB_RESTORE='
  TMPDIR=$3 virtnbdrestore -i "$1" -o "$2" -d vda -n -L "$2.log" || exit
  for _ in $(seq 600); do
    pgrep -f -- "^qemu-nbd .*$2/" > /dev/null || exit 0
    sleep 0.05
  done
  echo "qemu-nbd still running 30 s after virtnbdrestore" >&2
  exit 1'

run_tool () {    # TOOL RUN
  local tool=$1 run=$2 out=$work/out-$1-$2
  case $tool in
    vmbackup)
      mkdir "$out"
      timed "$tool" "$run" "$out" "$out/vda.qcow2" \
        "$VMBACKUP" --repo "$work/repo" restore "$NAME" --disk vda --to "$out/vda.qcow2" ||
        die "vmbackup restore failed"
      ;;
    virtnbdrestore)
      timed "$tool" "$run" "$out" "$out/vda.qcow2" \
        bash -c "$VNB_RESTORE" _ "$work/vnb" "$out" "$work" ||
        die "virtnbdrestore failed"
      ;;
    restic)
      timed "$tool" "$run" "$out" "$out$guest_disk" \
        restic --repo "$work/restic" restore latest --target "$out" ||
        die "restic restore failed"
      ;;
  esac
}

# qemu-img compare A B: same guest-visible contents (formats probed).
same_disk () { qemu-img compare -q "$1" "$2" > /dev/null 2>&1; }

# Check one round's restored disks: vmbackup's and virtnbdrestore's
# against the image file (same guest-visible contents), restic's against
# the image file bit for bit (it restores the file itself).
verify_round () {    # RUN
  local run=$1 vmb=${DISK[vmbackup,$1]} vnb=${DISK[virtnbdrestore,$1]} rst=${DISK[restic,$1]}
  local tool
  [[ $(qemu-img info "$vmb" | awk '/^file format:/ { print $3 }') == qcow2 ]] ||
    die "vmbackup's restored disk is not qcow2"
  qemu-img check -q "$vmb" || die "qemu-img check of vmbackup's restored disk failed"
  for tool in "${TOOLS[@]}"; do
    same_disk "${DISK[$tool,$run]}" "$guest_disk" ||
      die "run $run: $tool's restored disk differs from the image: $(qemu-img compare "${DISK[$tool,$run]}" "$guest_disk" 2>&1)"
  done
  same_disk "$vnb" "$vmb" || die "run $run: virtnbdrestore's disk differs from vmbackup's"
  cmp -s "$rst" "$guest_disk" || die "run $run: restic's restored file differs from the image file"
  say "  run $run verified: all three disks equal the image (qemu-img compare), restic's file bit for bit"
}

# ---- run ------------------------------------------------------------------

vm_bench_guest

# Freezing a mounted ext4 for a live backup rewrites its superblock, so
# two backups taken one after the other would differ in that block.  With
# /data read-only the guest writes nothing (a read-only filesystem is not
# even touched by a freeze): both live backups and the image file after
# the guest is shut off hold the same bytes, and every restored disk must
# equal the image.
guest_exec "$NAME" "sync && mount -o remount,ro /data && grep ' /data ' /proc/mounts" |
  grep -q ' ro[ ,]' || die "cannot remount the guest's /data read-only"
say "guest /data remounted read-only: the disk does not change from here on"

# ---- untimed: one backup per tool of the same disk

say "untimed: vmbackup backup $NAME (live)"
"$VMBACKUP" --repo "$work/repo" init > /dev/null
"$VMBACKUP" --repo "$work/repo" backup "$NAME" > "$work/log-backup-vmbackup" 2>&1 ||
  { cat "$work/log-backup-vmbackup" >&2; die "vmbackup backup failed"; }
grep -q "^backup $NAME/.*: application," "$work/log-backup-vmbackup" ||
  die "vmbackup backup was not live and application-consistent: $(cat "$work/log-backup-vmbackup")"
say "  $(tail -n 1 "$work/log-backup-vmbackup")"

say "untimed: virtnbdbackup -d $NAME -l full -n"
vnb_level=full
if ! TMPDIR=$work virtnbdbackup -d "$NAME" -l full -o "$work/vnb" -n > "$work/log-backup-vnb" 2>&1; then
  # -l full needs libvirt checkpoints; -l copy is the same full read.
  echo "$BENCH_TAG: virtnbdbackup -l full failed; using -l copy instead" >&2
  vnb_level=copy
  for c in $(vsh checkpoint-list "$NAME" --name 2>/dev/null); do
    vsh checkpoint-delete "$NAME" "$c" > /dev/null || true
  done
  rm -rf "$work/vnb"
  TMPDIR=$work virtnbdbackup -d "$NAME" -l copy -o "$work/vnb" -n > "$work/log-backup-vnb" 2>&1 ||
    { tail -n 30 "$work/log-backup-vnb" >&2; die "virtnbdbackup failed"; }
fi

say "untimed: virsh destroy $NAME, restic backup of $guest_disk"
vsh destroy "$NAME" > /dev/null
restic init --repository-version 2 --repo "$work/restic" > /dev/null
restic --repo "$work/restic" backup "$guest_disk" > "$work/log-backup-restic" 2>&1 ||
  { cat "$work/log-backup-restic" >&2; die "restic backup failed"; }
say "  image file $(stat -c %s "$guest_disk") bytes, $(( $(stat -c %b "$guest_disk") * $(stat -c %B "$guest_disk") )) allocated"
say "  stored: vmbackup $(du -sb "$work/repo" | cut -f1), virtnbdbackup $(du -sb "$work/vnb" | cut -f1), restic $(du -sb "$work/restic" | cut -f1) bytes"

# ---- timed restores

warm=()
(( ${BENCH_WARMUP:-1} == 0 )) || warm=(w)
for run in "${warm[@]}" "${RUNS[@]}"; do
  for tool in "${TOOLS[@]}"; do
    if [[ $run == w ]]; then
      say "warm-up: $tool restore, not counted"
    else
      say "run $run: $tool restore"
    fi
    run_tool "$tool" "$run"
    say "  wall ${WALL[$tool,$run]} s (flush ${FLUSH[$tool,$run]} s), cpu ${CPU[$tool,$run]} s (host ${HCPU[$tool,$run]} s), allocated ${ALLOC[$tool,$run]} bytes, host busy ${BUSY[$tool,$run]}% before"
  done
  verify_round "$run"
  # Keep the last round's disks for the checks below, nothing else.
  [[ $run == "${RUNS[-1]}" ]] || rm -rf "$work"/out-*-"$run"
done

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
echo "restore of disk vda of $NAME (4 GiB qcow2, ~1.5 GiB used), cold cache."
echo "wall = tool + fsync of what it wrote (flush); cpu = user+sys of the tool"
echo "(waited-for children); host = CPU the whole host used meanwhile (also"
echo "virtnbdrestore's forked qemu-nbd); alloc = allocated bytes of the disk;"
echo "busy% = host CPU busy in the second before the run (others' noise)."
echo "virtnbdrestore: from a virtnbdbackup -l $vnb_level backup; restic: the image file."
printf '%-4s %-15s %8s %8s %8s %8s %8s %14s %6s\n' \
  run tool "wall s" "tool s" "flush s" "cpu s" "host s" "alloc bytes" "busy%"
for run in "${RUNS[@]}"; do
  for tool in "${TOOLS[@]}"; do
    printf '%-4s %-15s %8.2f %8.2f %8.2f %8.2f %8.2f %14s %6s\n' "$run" "$tool" \
      "${WALL[$tool,$run]}" "${TOOLWALL[$tool,$run]}" "${FLUSH[$tool,$run]}" \
      "${CPU[$tool,$run]}" "${HCPU[$tool,$run]}" "${ALLOC[$tool,$run]}" "${BUSY[$tool,$run]}"
  done
done
echo
echo "best of ${#RUNS[@]} (minimum wall); ratios are tool/vmbackup (>1: vmbackup wins)"
printf '%-15s %8s %8s %8s %14s %8s %8s %8s\n' \
  tool "wall s" "cpu s" "host s" "alloc bytes" "wall x" "cpu x" "host x"
vb=${BEST[vmbackup]}
for tool in "${TOOLS[@]}"; do
  b=${BEST[$tool]}
  printf '%-15s %8.2f %8.2f %8.2f %14s %8s %8s %8s\n' "$tool" \
    "${WALL[$tool,$b]}" "${CPU[$tool,$b]}" "${HCPU[$tool,$b]}" "${ALLOC[$tool,$b]}" \
    "$(ratio "${WALL[$tool,$b]}" "${WALL[vmbackup,$vb]}")" \
    "$(ratio "${CPU[$tool,$b]}" "${CPU[vmbackup,$vb]}")" \
    "$(ratio "${HCPU[$tool,$b]}" "${HCPU[vmbackup,$vb]}")"
done
echo
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "restore: virtnbdrestore/vmbackup $(ratio "${WALL[virtnbdrestore,${BEST[virtnbdrestore]}]}" "${WALL[vmbackup,$vb]}")x, restic/vmbackup $(ratio "${WALL[restic,${BEST[restic]}]}" "${WALL[vmbackup,$vb]}")x (target >= 2x)"
