#!/usr/bin/env bash
# Benchmark: instant recovery (restore --instant) against a full restore
# of a VM, on a 4 GiB and a 16 GiB data disk.
#
# For each size, the test guest of tests/vm (TCG) gets a qcow2 ext4 data
# disk holding files made on the host (random data, plus log-like text),
# is backed up shut off into a local encrypted repository, and then
#
#   boot    the original started from its local disk (for reference);
#   full    `vmbackup restore ID --as NAME-full --start`: time until the
#           command returns (every disk written, the VM started) and
#           until the guest agent answers guest-ping;
#   instant `vmbackup restore ID --instant --as NAME-inst`: time until
#           the command returns, until guest-ping, and until the
#           background copy is done (the VM is no longer listed by
#           `restore --instant-status`);
#   paused  the same instant restore with the guest suspended as soon as
#           the command returns: the copy's time alone, without the
#           guest's boot (TCG: a whole core for seconds) on the same
#           2 cores; then resumed and checked as the others;
#
# every time from the start of the command, from a cold page cache.
# Both restored guests must then hold a file identical to the host's
# original, and the instant one must no longer be backed by the export.
# See bench/README.md.
#
# Environment:
#   VMBACKUP          vmbackup binary (default: ../build/vmbackup from here)
#   BENCH_DIR         parent of the scratch directory (default: /var/tmp)
#   BENCH_RUNS        rounds of (full, instant) per size, the best of each
#                     figure kept (default: 2; odd rounds full first, even
#                     rounds instant first)
#   BENCH_RANDOM_16   MiB of random files on the 16 GiB disk (default: 3072;
#                     the 4 GiB disk holds 1024), in 64 MiB files
#   VMB_KEEP_LIBVIRT  1: leave libvirtd/virtlogd running if we started them
#   VMB_GUEST_DIR     where the test guest's kernel/initramfs are cached
#
# Exit status: 0 done (whether or not the targets are met), 1 failure,
# 77 a required tool is missing.
set -euo pipefail

BENCH_TAG=bench-instant
NAME=vmb-binst
BENCH_NEEDS=(virsh qemu-system-x86_64 qemu-img nbdkit openssl base64 awk md5sum)
mapfile -t RUNS < <(seq "${BENCH_RUNS:-2}")
RANDOM_16=${BENCH_RANDOM_16:-3072}
SIZES=(4 16)

# Tool checks, scratch directory ($work), helpers (put_file, make_words,
# busy_pct, now, ...): see the file.
# shellcheck source=vm-bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/vm-bench-lib.sh"

# The instant restores' run directories (their NBD sockets, keeper.pid)
# in the scratch directory, which QEMU can traverse: --instant-status
# then lists ours only, not those of anything else on the host.
export VMBACKUP_RUN_DIR=$work/run

# ---- cleanup --------------------------------------------------------------

# Registered after define_guest's (cleanups run last registered first):
# every VM of ours goes, then any keeper left (destroying its VM makes it
# exit within a second; one that does not is killed by its pid), then
# any nbdkit still serving a socket of ours.
our_vms () { vsh list --all --name | grep -E "^$NAME-[0-9]+(-full|-inst)?\$" || true; }
stop_leftovers () {
  local v f pid
  for v in $(our_vms); do destroy_guest "$v"; done
  for f in "$VMBACKUP_RUN_DIR"/instant-*/keeper.pid; do
    [[ -e $f ]] || continue
    pid=$(head -n 1 "$f" 2>/dev/null) || continue
    [[ $pid =~ ^[0-9]+$ ]] || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  for pid in $(pgrep -f "^nbdkit .*$VMBACKUP_RUN_DIR/instant-" || true); do
    kill "$pid" 2>/dev/null || true
  done
}

# ---- test data ------------------------------------------------------------

# make_src DIR NRANDOM: NRANDOM x 64 MiB random files (random/rI.bin) and
# hard links to the 8 x 64 MiB text files made once in $work/text.
make_src () {
  local dir=$1 n=$2 i
  mkdir -p "$dir/random" "$dir/text"
  echo "vmbackup test guest $NAME" > "$dir/seed.txt"
  for i in $(seq 0 $((n - 1))); do
    put_file "$dir/random/r$i.bin" $((64 * MiB)) random_stream $((i + 1 + n * 1000)) &
    if (( i % 8 == 7 )); then wait; fi
  done
  wait
  ln "$work/text"/*.log "$dir/text/"
}

make_text () {
  local i
  mkdir -p "$work/text"
  make_words
  # text_stream is CPU-bound (awk): two at a time.
  for i in $(seq 0 7); do
    put_file "$work/text/t$i.log" $((64 * MiB)) text_stream $((i + 11)) &
    if (( i % 2 == 1 )); then wait; fi
  done
  wait
}

# ---- measuring ------------------------------------------------------------

declare -A BOOT FULL_CMD FULL_PING INST_CMD INST_PING INST_COPY PAUSED_COPY BUSY_F BUSY_I
declare -A ID MD5 BACKUP_S

since () { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# Wait for VM's guest-ping; print seconds since T0 (wait_agent's own
# figure has one decimal and starts at start_guest).
ping_since () {
  local vm=$1 t0=$2
  wait_agent "$vm" 300
  since "$t0"
}

# The disk files of VM (its <source file=...>), one a line.
disk_files () {
  vsh domblklist "$1" --details | awk '$2 == "disk" && $4 != "-" { print $4 }'
}

# Remove VM and its disk files (restored beside the original's: named
# after it, in $work).
remove_vm () {
  local vm=$1 files
  files=$(disk_files "$vm")
  destroy_guest "$vm"
  # shellcheck disable=SC2086  # one path a line, no spaces (ours)
  [[ -z $files ]] || rm -f $files
}

# check_guest VM SIZE: the guest's /data/random/r7.bin is the host's.
check_guest () {
  local sum
  sum=$(VMB_EXEC_TIMEOUT=300 guest_exec "$1" 'md5sum < /data/random/r7.bin') ||
    die "$1: md5sum in the guest failed"
  [[ ${sum%% *} == "${MD5[$2]}" ]] || die "$1: /data/random/r7.bin differs from the original"
}

# run_full SIZE RUN
run_full () {
  local s=$1 run=$2 vm=$NAME-$1-full t0 log=$work/full-$1-$2.log
  cleanup_fn "destroy_guest '$vm'"
  drop_caches
  BUSY_F[$s,$run]=$(busy_pct)
  t0=$(now)
  vmb restore "${ID[$s]}" --as "$vm" --start > "$log" 2>&1 ||
    { cat "$log" >&2; die "full restore of ${ID[$s]} failed"; }
  FULL_CMD[$s,$run]=$(since "$t0")
  FULL_PING[$s,$run]=$(ping_since "$vm" "$t0")
  check_guest "$vm" "$s"
  remove_vm "$vm"
}

# run_instant SIZE RUN [paused]
run_instant () {
  local s=$1 run=$2 paused=${3:-} vm=$NAME-$1-inst t0 log=$work/inst-$1-$2.log st
  cleanup_fn "destroy_guest '$vm'"
  drop_caches
  BUSY_I[$s,$run]=$(busy_pct)
  t0=$(now)
  vmb restore "${ID[$s]}" --instant --as "$vm" > "$log" 2>&1 ||
    { cat "$log" >&2; die "instant restore of ${ID[$s]} failed"; }
  if [[ -n $paused ]]; then
    vsh suspend "$vm" > /dev/null || die "suspend $vm"
  else
    INST_CMD[$s,$run]=$(since "$t0")
    INST_PING[$s,$run]=$(ping_since "$vm" "$t0")
    say "  $vm: guest-ping after ${INST_PING[$s,$run]} s; $(vmb restore --instant-status | tail -n +2 | tr -s ' ')"
  fi
  # The copy: done once --instant-status no longer lists the VM.
  while :; do
    st=$(vmb restore --instant-status)
    grep -q "^VM $vm " <<< "$st" || break
    grep -q "^VM $vm .*: copying" <<< "$st" || die "$vm: $st"
    awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b - a > 600) }' &&
      die "$vm: the copy is not done after 600 s: $st"
    sleep 0.2
  done
  if [[ -n $paused ]]; then
    PAUSED_COPY[$s,$run]=$(since "$t0")
    vsh resume "$vm" > /dev/null || die "resume $vm"
    wait_agent "$vm" 300
  else
    INST_COPY[$s,$run]=$(since "$t0")
  fi
  [[ $st == "no instant restore in progress" ]] || die "instant-status after the copy: $st"
  # Stands on its own: no NBD backing left, no run directory.
  ! vsh dumpxml "$vm" | grep -q "protocol='nbd'" || die "$vm: still backed by the export"
  [[ ! -e $VMBACKUP_RUN_DIR/instant-$vm ]] || die "$vm: run directory left"
  check_guest "$vm" "$s"
  remove_vm "$vm"
}

# best ARRAY SIZE: the smallest ARRAY[SIZE,RUN] over the runs.
best () {
  local -n a=$1
  local s=$2 run m=
  for run in "${RUNS[@]}"; do
    if [[ -z $m ]] || awk -v x="${a[$s,$run]}" -v y="$m" 'BEGIN { exit !(x < y) }'; then
      m=${a[$s,$run]}
    fi
  done
  echo "$m"
}

# ---- run ------------------------------------------------------------------

say "scratch directory $work"
say "load at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs); other VMs running: $(vsh list --name 2>/dev/null | grep -vc '^$' || true)"
start_libvirt
build_guest
cleanup_fn stop_leftovers
mkdir -p "$VMBACKUP_RUN_DIR"
vmb init > /dev/null            # encrypted (key file, tests/functions.sh)

say "making the test data on the host"
make_text
for s in "${SIZES[@]}"; do
  nrand=16
  (( s == 4 )) || nrand=$((RANDOM_16 / 64))
  src=$work/src-$s
  make_src "$src" "$nrand"
  MD5[$s]=$(md5sum < "$src/random/r7.bin" | cut -d' ' -f1)
  vm=$NAME-$s
  define_guest "$vm" --size "${s}G"
  disk=$(guest_dir "$vm")/vda.qcow2
  "$_vm_here/make-disk.sh" "$disk" "${s}G" qcow2 ext4 "$src"
  rm -rf "$src"
  check_qemu_access "$disk"
  say "$vm: $(qemu-img info "$disk" | awk -F': ' '/virtual size|disk size/ { printf "%s: %s; ", $1, $2 }')$((nrand * 64)) MiB random + 512 MiB text"
  t0=$(now)
  vmb backup "$vm" > "$work/backup-$s.log" 2>&1 ||
    { cat "$work/backup-$s.log" >&2; die "backup of $vm failed"; }
  BACKUP_S[$s]=$(since "$t0")
  ID[$s]=$(last_id "$vm")
  [[ -n ${ID[$s]} ]] || die "no backup of $vm"
  say "  backup ${ID[$s]}: ${BACKUP_S[$s]} s: $(tail -n 1 "$work/backup-$s.log")"
done
rm -rf "$work/text"
say "repository: $(du -sb "$VMBACKUP_REPO" | cut -f1) bytes"

for s in "${SIZES[@]}"; do
  vm=$NAME-$s
  say "$vm: boot from its local disk (reference)"
  drop_caches
  start_guest "$vm"
  wait_agent "$vm" 300
  BOOT[$s]=$vm_ping_seconds
  vsh destroy "$vm" > /dev/null
  say "  guest-ping after ${BOOT[$s]} s"
  for run in "${RUNS[@]}"; do
    # Odd runs full first, even runs instant first: neither always
    # follows the boot (or the other) in the page cache or the load.
    order=(full instant paused)
    (( run % 2 == 1 )) || order=(paused instant full)
    for kind in "${order[@]}"; do
      say "$vm run $run: $kind restore"
      if [[ $kind == full ]]; then
        run_full "$s" "$run"
        say "  returned after ${FULL_CMD[$s,$run]} s, guest-ping after ${FULL_PING[$s,$run]} s (host busy ${BUSY_F[$s,$run]}% before)"
      elif [[ $kind == paused ]]; then
        run_instant "$s" "$run" paused
        say "  copy done after ${PAUSED_COPY[$s,$run]} s, the guest suspended (host busy ${BUSY_I[$s,$run]}% before)"
      else
        run_instant "$s" "$run"
        say "  returned after ${INST_CMD[$s,$run]} s, guest-ping after ${INST_PING[$s,$run]} s, copy done after ${INST_COPY[$s,$run]} s (host busy ${BUSY_I[$s,$run]}% before)"
      fi
    done
  done
done

# ---- report ---------------------------------------------------------------

echo
echo "VM restore of the tiny test guest (TCG, 1 vCPU) with one qcow2 ext4 data"
echo "disk, from a local encrypted repository, cold page cache; seconds from"
echo "the start of the restore command.  full: restore --as --start (cmd = the"
echo "command returned: disks written, VM started); instant: restore --instant"
echo "--as (copy = --instant-status no longer lists the VM).  boot: the"
echo "original started from its local disk, for reference.  copyP: the instant"
echo "copy with the guest suspended as soon as the command returned."
echo "busy% = host CPU busy in the second before the run (others' noise)."
printf '%-4s %-4s %7s %8s %9s %8s %9s %8s %8s %6s %6s\n' size run "boot s" "full s" "full ping" "inst s" "inst ping" "copy s" "copyP s" busyF% busyI%
for s in "${SIZES[@]}"; do
  for run in "${RUNS[@]}"; do
    printf '%-4s %-4s %7.2f %8.2f %9.2f %8.2f %9.2f %8.2f %8.2f %6s %6s\n' "${s}G" "$run" \
      "${BOOT[$s]}" "${FULL_CMD[$s,$run]}" "${FULL_PING[$s,$run]}" \
      "${INST_CMD[$s,$run]}" "${INST_PING[$s,$run]}" "${INST_COPY[$s,$run]}" \
      "${PAUSED_COPY[$s,$run]}" \
      "${BUSY_F[$s,$run]}" "${BUSY_I[$s,$run]}"
  done
done
echo
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
[[ ${#RUNS[@]} == 1 ]] || echo "ratios from the best (minimum) of ${#RUNS[@]} runs"
ip4=$(best INST_PING 4) ip16=$(best INST_PING 16)
fp4=$(best FULL_PING 4)
echo "instant time-to-ping 16 GiB / 4 GiB: $(ratio "$ip16" "$ip4")x (target <= 1.2x)"
echo "full / instant time-to-ping at 4 GiB: $(ratio "$fp4" "$ip4")x (target >= 3x); at 16 GiB: $(ratio "$(best FULL_PING 16)" "$ip16")x"
echo "instant copy / full restore: 4 GiB $(ratio "$(best INST_COPY 4)" "$(best FULL_CMD 4)")x, 16 GiB $(ratio "$(best INST_COPY 16)" "$(best FULL_CMD 16)")x (target <= 1.5x)"
echo "  the copy alone (guest suspended) / full restore: 4 GiB $(ratio "$(best PAUSED_COPY 4)" "$(best FULL_CMD 4)")x, 16 GiB $(ratio "$(best PAUSED_COPY 16)" "$(best FULL_CMD 16)")x"
