# Shared setup of the VM benchmarks (bench-vm.sh, bench-restore.sh): the
# tool checks, the scratch directory, the test data and the test guest.
# Source it first thing, after setting:
#
#   BENCH_TAG    prefix of messages ("bench-vm")
#   NAME         the test guest's libvirt name
#   BENCH_NEEDS  array of commands that must be installed (else exit 77)
#
# It sets script_dir, top, VMBACKUP, BENCH_DIR, MiB, have_gnu_time, work
# (the scratch directory, removed at exit with the guest) and exports
# VMBACKUP_EVENT_LOG into it; vm_bench_guest boots the guest.
#
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables used by the sourcing scripts

: "${BENCH_TAG:?}" "${NAME:?}"
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$script_dir/.." && pwd)
VMBACKUP=${VMBACKUP:-$top/build/vmbackup}
BENCH_DIR=${BENCH_DIR:-/var/tmp}

MiB=$((1 << 20))

skip () { echo "$BENCH_TAG: $*, skipping" >&2; exit 77; }

[[ -x $VMBACKUP ]] || skip "vmbackup binary not found at $VMBACKUP (set \$VMBACKUP)"
VMBACKUP=$(cd "$(dirname "$VMBACKUP")" && pwd)/$(basename "$VMBACKUP")
export VMBACKUP
for t in "${BENCH_NEEDS[@]}"; do
  command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done

# The test helpers: tests/functions.sh makes $scratch (under $TMPDIR),
# exports VMBACKUP_EVENT_LOG into it and runs the cleanup functions at
# exit (destroy the guest, stop the libvirt daemons we started, remove
# $scratch); functions-vm.sh boots and talks to the guest.
mkdir -p "$BENCH_DIR"
export TMPDIR=$BENCH_DIR
# shellcheck source=../tests/functions.sh
source "$top/tests/functions.sh"
# shellcheck source=../tests/vm/functions-vm.sh
source "$top/tests/vm/functions-vm.sh"
# shellcheck disable=SC2154  # $scratch comes from tests/functions.sh
work=$scratch
export VMBACKUP_EVENT_LOG=$work/events.log   # never /var/log

die () { echo "$BENCH_TAG: $*" >&2; exit 1; }
# shellcheck source=bench-common.sh
source "$script_dir/bench-common.sh"
say () { echo "$BENCH_TAG: $*"; }

# CPU seconds (user+sys, all threads) the guest's qemu has used so far:
# qemu's NBD server does the reading for both tools.
CLK_TCK=$(getconf CLK_TCK)
qemu_cpu () {
  awk -v hz="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$qemu_pid/stat"
}

# Percent of the host's CPU time busy over the next second: what else
# (another job, an idle TCG guest) is running just before a timed run.
busy_pct () {
  local a b
  a=$(head -n 1 /proc/stat)
  sleep 1
  b=$(head -n 1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x); split(b, y); t = 0
    for (i = 2; i <= n; i++) t += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%.0f", (t > 0 ? 100 * (t - idle) / t : 0) }'
}

requires_vm            # root, libvirt, qemu, guest agent, a kernel: else 77

# ---- test data ------------------------------------------------------------

# put_file PATH LEN GENERATOR KEY: exactly LEN bytes of the stream.  head
# stops the producer with SIGPIPE, so pipefail is off in this subshell;
# the size check catches a producer that stopped early.
put_file () {
  (
    set +o pipefail
    "$3" "$4" | head -c "$2" > "$1"
  )
  [[ $(stat -c %s "$1") -eq $2 ]] || die "short file $1"
}

# The guest's /data: 16 x 64 MiB random files, 8 x 64 MiB text files.
make_tree () {
  local src=$1 i
  mkdir -p "$src/random" "$src/text"
  echo "vmbackup test guest $NAME" > "$src/seed.txt"
  make_words
  for i in $(seq 0 15); do
    put_file "$src/random/r$i.bin" $((64 * MiB)) random_stream $((i + 1)) &
  done
  wait
  # text_stream is CPU-bound (awk): two at a time.
  for i in $(seq 0 7); do
    put_file "$src/text/t$i.log" $((64 * MiB)) text_stream $((i + 11)) &
    if (( i % 2 == 1 )); then wait; fi
  done
  wait
}

# ---- measuring ------------------------------------------------------------

now () { date +%s.%N; }

declare -A WALL TOOLWALL FLUSH CPU QCPU STORED BUSY

# timed_backup TOOL RUN OUT COMMAND...: run COMMAND from a cold cache and record
# its wall and CPU seconds (user+sys, waited-for children included), then
# fsync every file under OUT (the backup) and add that time to the wall
# time: vmbackup syncs its repository before it exits, virtnbdbackup
# leaves its writes in the page cache, so only "wall" compares the same
# thing (a backup that is on disk).
timed_backup () {
  local tool=$1 run=$2 out=$3; shift 3
  local log=$work/log-$tool-$run tf=$work/time-$tool-$run
  local rc=0 wall user sys t0 t1 q0
  drop_caches
  BUSY[$tool,$run]=$(busy_pct)
  q0=$(qemu_cpu)
  time_into "$tf" "$log" "$@" || rc=$?
  if (( rc != 0 )); then
    echo "$BENCH_TAG: $tool run $run failed (exit $rc): $*" >&2
    tail -n 30 "$log" >&2
    return 1
  fi
  QCPU[$tool,$run]=$(awk -v a="$q0" -v b="$(qemu_cpu)" 'BEGIN { printf "%.2f", b - a }')
  t0=$(now)
  find "$out" -type f -exec sync -- {} +
  t1=$(now)
  read -r wall user sys < <(tail -n 1 "$tf")
  TOOLWALL[$tool,$run]=$wall
  FLUSH[$tool,$run]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  WALL[$tool,$run]=$(awk -v w="$wall" -v f="${FLUSH[$tool,$run]}" 'BEGIN { printf "%.2f", w + f }')
  CPU[$tool,$run]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  STORED[$tool,$run]=$(du -sb "$out" | cut -f1)
}

# virtnbdbackup -l full leaves a libvirt checkpoint (a dirty bitmap in the
# qcow2); remove it so every run, of either tool, starts from the same VM.
delete_checkpoints () {
  local c
  for c in $(vsh checkpoint-list "$NAME" --name 2>/dev/null); do
    vsh checkpoint-delete "$NAME" "$c" >/dev/null || die "cannot delete checkpoint $c"
  done
}

# ---- the guest ------------------------------------------------------------

# Start libvirt, make the test data, define $NAME with a 4 GiB qcow2 data
# disk ($guest_disk) holding it, boot it and wait for its agent.  Sets
# guest_disk, qemu_pid, and sha_r / sha_t: the SHA-256 of the files
# /random/r7.bin and /text/t3.log of the disk's filesystem.
vm_bench_guest () {
  say "scratch directory $work"
  say "load at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
  start_libvirt
  build_guest

  say "making ~1.5 GiB of files on the host"
  local src=$work/src dir used
  make_tree "$src"
  sha_r=$(sha256sum < "$src/random/r7.bin" | cut -d' ' -f1)
  sha_t=$(sha256sum < "$src/text/t3.log" | cut -d' ' -f1)

  say "defining $NAME with a 4 GiB qcow2 data disk holding them"
  define_guest "$NAME" --size 4G
  dir=$(guest_dir "$NAME")
  guest_disk=$dir/vda.qcow2
  # define_guest made vda.qcow2 with only seed.txt; replace it before the
  # first start with the same kind of disk holding our files.
  # shellcheck disable=SC2154  # $_vm_here comes from functions-vm.sh
  "$_vm_here/make-disk.sh" "$guest_disk" 4G qcow2 ext4 "$src"
  rm -rf "$src"
  check_qemu_access "$guest_disk"
  qemu-img info "$guest_disk" | grep -E 'virtual size|disk size' | sed "s/^/$BENCH_TAG:   /"

  say "starting $NAME"
  start_guest "$NAME"
  wait_agent "$NAME" 300
  qemu_pid=$(cat "/run/libvirt/qemu/$NAME.pid")
  say "guest agent answers after ${vm_ping_seconds} s"
  used=$(guest_exec "$NAME" "df -k /data | awk 'NR == 2 { print \$3 }'")
  say "guest /data: $((used / 1024)) MiB used"
  (( used > 1400 * 1024 )) || die "guest /data holds only $used KiB"
}
