#!/usr/bin/env bash
# Benchmark: a full backup of a running libvirt VM, vmbackup against
# virtnbdbackup.
#
# Boots the tiny test guest (tests/vm) with a 4 GiB qcow2 data disk that
# holds ~1.5 GiB of files (1 GiB random, 0.5 GiB log-like text), all
# made on the host, then times a full live backup with each tool, twice,
# alternating (vmbackup, virtnbdbackup, vmbackup, virtnbdbackup), each
# into a fresh target from a cold page cache.  Restores vmbackup's backup
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

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$script_dir/.." && pwd)
VMBACKUP=${VMBACKUP:-$top/build/vmbackup}
BENCH_DIR=${BENCH_DIR:-/var/tmp}

NAME=vmb-bench
MiB=$((1 << 20))
TOOLS=(vmbackup virtnbdbackup)
mapfile -t RUNS < <(seq "${BENCH_RUNS:-2}")

skip () { echo "bench-vm: $*, skipping" >&2; exit 77; }

[[ -x $VMBACKUP ]] || skip "vmbackup binary not found at $VMBACKUP (set \$VMBACKUP)"
VMBACKUP=$(cd "$(dirname "$VMBACKUP")" && pwd)/$(basename "$VMBACKUP")
export VMBACKUP
for t in virtnbdbackup virsh qemu-system-x86_64 qemu-img openssl base64 awk \
         fsck.ext4 debugfs sha256sum du find; do
  command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
if [[ -x /usr/bin/time ]]; then have_gnu_time=1; else have_gnu_time=0; fi

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

die () { echo "bench-vm: $*" >&2; exit 1; }
say () { echo "bench-vm: $*"; }

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

# Endless pseudo-random bytes, reproducible from a key number.
# AES-CTR of zeros runs at GB/s where /dev/urandom does not.
random_stream () {
  openssl enc -aes-128-ctr -nosalt -K "$(printf '%032x' "$1")" -iv 0 \
          -in /dev/zero 2>/dev/null
}

# Endless log-like text that zstd -3 shrinks about 4x (as in
# bench-image.sh): recurring templates, Zipf-ish words, and a short
# random token per line so nothing deduplicates.
WORDS=$work/words
text_stream () {
  random_stream "$1" | base64 -w 4 | awk -v seed="$1" '
    BEGIN { srand(seed); n = 0; t = 0 }
    NR == FNR { w[n++] = $0; next }
    FNR == 1 {
      for (m = 0; m < 64; m++) {
        s = w[int(rand() * n)]
        for (i = 0; i < 5; i++) s = s " " w[int(rand() * n)]
        tpl[m] = s
      }
    }
    {
      t += int(rand() * 3)
      line = sprintf("2024-03-01 %02d:%02d:%02d host%02d app[%d]: %s",
                     int(t / 3600) % 24, int(t / 60) % 60, t % 60,
                     int(rand() * 4), 1000 + int(rand() * 8),
                     tpl[int(rand() * rand() * 64)])
      k = 1 + int(rand() * 4)
      for (i = 0; i < k; i++) { r = rand(); line = line " " w[int(r * r * r * n)] }
      print line " id=" $0
    }' "$WORDS" -
}

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
  (
    set +o pipefail
    # shellcheck disable=SC2018  # ASCII letters on purpose
    random_stream 99 | head -c 200000 | base64 -w 0 | tr -c 'a-z' '\n' |
      awk 'length >= 3 && length <= 9' | head -n 4000 > "$WORDS"
  )
  [[ $(wc -l < "$WORDS") -ge 1000 ]] || die "word list too short"
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

drop_caches () {
  sync
  { echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null || true
}

now () { date +%s.%N; }

declare -A WALL TOOLWALL FLUSH CPU QCPU STORED BUSY

# timed TOOL RUN OUT COMMAND...: run COMMAND from a cold cache and record
# its wall and CPU seconds (user+sys, waited-for children included), then
# fsync every file under OUT (the backup) and add that time to the wall
# time: vmbackup syncs its repository before it exits, virtnbdbackup
# leaves its writes in the page cache, so only "wall" compares the same
# thing (a backup that is on disk).
timed () {
  local tool=$1 run=$2 out=$3; shift 3
  local log=$work/log-$tool-$run tf=$work/time-$tool-$run
  local rc=0 wall user sys t0 t1 q0
  drop_caches
  BUSY[$tool,$run]=$(busy_pct)
  q0=$(qemu_cpu)
  if (( have_gnu_time )); then
    /usr/bin/time -f '%e %U %S' -o "$tf" "$@" > "$log" 2>&1 || rc=$?
  else
    local TIMEFORMAT='%R %U %S'
    { time "$@" > "$log" 2>&1 || rc=$?; } 2> "$tf"
  fi
  if (( rc != 0 )); then
    echo "bench-vm: $tool run $run failed (exit $rc): $*" >&2
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

VNB_LEVEL=full
run_tool () {    # TOOL RUN
  local tool=$1 run=$2 out
  case $tool in
    vmbackup)
      out=$work/repo-$run
      "$VMBACKUP" --repo "$out" init > /dev/null
      timed "$tool" "$run" "$out" "$VMBACKUP" --repo "$out" backup "$NAME" ||
        die "vmbackup failed"
      grep -q "^backup $NAME/.*: application," "$work/log-$tool-$run" ||
        die "vmbackup run $run was not live and application-consistent: $(cat "$work/log-$tool-$run")"
      ;;
    virtnbdbackup)
      out=$work/vnb-$run
      if ! timed "$tool" "$run" "$out" \
             virtnbdbackup -d "$NAME" -l "$VNB_LEVEL" -o "$out" -n; then
        # -l full needs libvirt checkpoints (qcow2 disks, incremental
        # backup support); -l copy is the same full read without one.
        [[ $VNB_LEVEL == full ]] || die "virtnbdbackup failed"
        echo "bench-vm: virtnbdbackup -l full failed; using -l copy instead" >&2
        VNB_LEVEL=copy
        delete_checkpoints
        rm -rf "$out"
        timed "$tool" "$run" "$out" \
          virtnbdbackup -d "$NAME" -l "$VNB_LEVEL" -o "$out" -n ||
          die "virtnbdbackup failed"
      fi
      delete_checkpoints
      ;;
  esac
  [[ $(vsh domstate "$NAME") == running ]] || die "$NAME not running after $tool run $run"
}

# ---- run ------------------------------------------------------------------

say "scratch directory $work"
say "load at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
start_libvirt
build_guest

say "making ~1.5 GiB of files on the host"
src=$work/src
make_tree "$src"
sha_r=$(sha256sum < "$src/random/r7.bin" | cut -d' ' -f1)
sha_t=$(sha256sum < "$src/text/t3.log" | cut -d' ' -f1)

say "defining $NAME with a 4 GiB qcow2 data disk holding them"
define_guest "$NAME" --size 4G
dir=$(guest_dir "$NAME")
# define_guest made vda.qcow2 with only seed.txt; replace it before the
# first start with the same kind of disk holding our files.
"$_vm_here/make-disk.sh" "$dir/vda.qcow2" 4G qcow2 ext4 "$src"
rm -rf "$src"
check_qemu_access "$dir/vda.qcow2"
qemu-img info "$dir/vda.qcow2" | grep -E 'virtual size|disk size' | sed 's/^/bench-vm:   /'

say "starting $NAME"
start_guest "$NAME"
wait_agent "$NAME" 300
qemu_pid=$(cat "/run/libvirt/qemu/$NAME.pid")
say "guest agent answers after ${vm_ping_seconds} s"
used=$(guest_exec "$NAME" "df -k /data | awk 'NR == 2 { print \$3 }'")
say "guest /data: $((used / 1024)) MiB used"
(( used > 1400 * 1024 )) || die "guest /data holds only $used KiB"

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
    [[ $tool != vmbackup ]] || say "  $(tail -n 1 "$work/log-$tool-$run")"
    say "  wall ${WALL[$tool,$run]} s (flush ${FLUSH[$tool,$run]} s), cpu ${CPU[$tool,$run]} s (qemu ${QCPU[$tool,$run]} s), stored ${STORED[$tool,$run]} bytes, host busy ${BUSY[$tool,$run]}% before"
  done
  [[ $run != w ]] || rm -rf "$work/repo-w" "$work/vnb-w"
done

say "virtnbdbackup wrote:"
(cd "$work/vnb-${RUNS[-1]}" && find . -type f -printf '%s\t%p\n' | sort -k2 | sed 's/^/bench-vm:   /')

say "verifying vmbackup's backup: restore vda, fsck, two files"
t0=$(now)
"$VMBACKUP" --repo "$work/repo-${RUNS[-1]}" restore "$NAME" --disk vda --to "$work/restored.raw" \
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

ratio () { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

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
echo "virtnbdbackup/vmbackup wall: $(ratio "${WALL[virtnbdbackup,$b]}" "${WALL[vmbackup,$vb]}")x (target >= 3x)"
