#!/usr/bin/env bash
# Benchmark: vmbackup on S3 (a local Ceph cluster) beside vmbackup on a
# local repository and restic's s3 backend, on one disk image.
#
# The 4 GiB image of bench-image.sh (bench-common.sh makes it); for each
# tool a first backup, a second backup after ~100 MiB of changes, and a
# restore of the second backup.  The Ceph cluster (one mon, one OSD,
# radosgw) is started by tests/functions-ceph.sh in the scratch directory
# and stopped at exit; it shares the machine's cores with the tools.
# See bench/README.md.
#
# Environment:
#   VMBACKUP    vmbackup binary (default: ../build/vmbackup from here)
#   BENCH_DIR   parent of the scratch directory (default: /var/tmp)
#   BENCH_KEEP  if 1, keep the scratch directory
#   BENCH_TOOLS tools and their order (default: vmbackup vmbackup-s3
#               restic-s3; vmbackup and vmbackup-s3 must be among them)
#   BENCH_S3_TLS if 1, vmbackup-s3 and restic-s3 talk https to radosgw
#               (its certificate from a CA of the bench's own, given to
#               each as a site's own CA would be)
#
# Exit status: 0 done, 1 failure (including a wrong vmbackup restore),
# 77 a required tool is missing or not root (Ceph's daemons need it).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMBACKUP=${VMBACKUP:-$script_dir/../build/vmbackup}
BENCH_DIR=${BENCH_DIR:-/var/tmp}

# vmbackup: the local repository; vmbackup-s3: s3://vmb/bench on the
# cluster; restic-s3: restic's s3 backend, bucket restic on the same
# cluster.  All three encrypt (vmbackup's default, with a key file;
# restic always) and compress at zstd level 3.
read -ra TOOLS <<< "${BENCH_TOOLS:-vmbackup vmbackup-s3 restic-s3}"
STEPS=(first second restore)

die () { echo "bench-s3: $*" >&2; exit 1; }
skip () { echo "bench-s3: $*, skipping" >&2; exit 77; }

uses () { [[ " ${TOOLS[*]} " == *" $1 "* ]]; }
{ uses vmbackup && uses vmbackup-s3; } || die "BENCH_TOOLS must include vmbackup and vmbackup-s3"
[[ -x $VMBACKUP ]] || skip "vmbackup binary not found at $VMBACKUP (set \$VMBACKUP)"
VMBACKUP=$(cd "$(dirname "$VMBACKUP")" && pwd)/$(basename "$VMBACKUP")
[[ $(id -u) == 0 ]] || skip "the Ceph daemons need root"
for t in openssl base64 awk dd truncate cmp du python3; do
  command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
if uses restic-s3; then
  command -v restic >/dev/null 2>&1 || skip "restic is not installed"
fi

mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/bench-s3.XXXXXX")
# shellcheck source=bench-common.sh
source "$script_dir/bench-common.sh"

# tests/functions-ceph.sh expects these of tests/functions.sh.
export scratch=$work
requires () { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }
requires_root () { [[ $(id -u) == 0 ]] || skip "needs root ($*)"; }
fail () { die "$*"; }
cleanup_fns=()
cleanup_fn () { cleanup_fns=("$*" "${cleanup_fns[@]}"); }
cleanup () {
  local f
  for f in "${cleanup_fns[@]}"; do eval "$f" || true; done
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "bench-s3: keeping $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
# shellcheck source=../tests/functions-ceph.sh
source "$script_dir/../tests/functions-ceph.sh"

img=$work/disk.img
export RESTIC_PASSWORD=bench
export RESTIC_CACHE_DIR=$work/restic-cache
# vmbackup's S3 cache of immutable objects, kept across steps as a host's
# would be (restic keeps its own cache the same way).
export XDG_CACHE_HOME=$work/cache

declare -A WALL CPU CLUSTER STORED REPO_TOTAL

# CPU seconds the cluster's daemons (mon, OSD, radosgw) have used so far,
# from /proc (every thread of each): what a step costs them on the same
# cores as the tools.
cluster_cpu () {
  local ticks=0 pid f
  for f in "$ceph_dir"/run/*.pid; do
    pid=$(cat "$f")
    [[ -r /proc/$pid/stat ]] || continue
    # utime and stime, fields 14 and 15 (the name in field 2 has no
    # blanks: ceph-mon, ceph-osd, radosgw).
    ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# timed STEP TOOL COMMAND...: as in bench-image.sh.
timed () {
  local step=$1 tool=$2; shift 2
  local log=$work/log-$step-$tool tf=$work/time-$step-$tool
  local rc=0 wall user sys c0
  drop_caches
  c0=$(cluster_cpu)
  time_into "$tf" "$log" "$@" || rc=$?
  CLUSTER[$step,$tool]=$(awk -v a="$c0" -v b="$(cluster_cpu)" 'BEGIN { printf "%.2f", b - a }')
  if (( rc != 0 )); then
    echo "bench-s3: $step $tool failed (exit $rc): $*" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  read -r wall user sys < <(tail -n 1 "$tf")
  WALL[$step,$tool]=$wall
  CPU[$step,$tool]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

# Bytes a bucket holds, as radosgw counts them.
bucket_bytes () {
  timeout 60 radosgw-admin -c "$ceph_dir/ceph.conf" -k "$ceph_dir/admin.keyring" \
    bucket stats --bucket="$1" 2>/dev/null |
    python3 -c 'import json, sys
u = json.load(sys.stdin).get("usage", {})
print(sum(v.get("size", 0) for v in u.values()))' || echo 0
}

local_repo=$work/repo-vmbackup
s3_repo=s3://vmb/bench
repo_bytes () {  # TOOL
  case $1 in
    vmbackup) du -sb "$local_repo" | cut -f1 ;;
    vmbackup-s3) bucket_bytes vmb ;;
    restic-s3) bucket_bytes restic ;;
  esac
}


init_repos () {
  "$VMBACKUP" --repo "$local_repo" init > /dev/null
  "$VMBACKUP" --repo "$s3_repo" init > /dev/null
  if uses restic-s3; then "${restic_s3[@]}" init --repository-version 2 > /dev/null; fi
}

backup () {      # STEP TOOL
  local step=$1 tool=$2 before
  before=$(repo_bytes "$tool")
  case $tool in
    vmbackup) timed "$step" "$tool" "$VMBACKUP" --repo "$local_repo" backup --compression 3 --image "disk=$img" ;;
    vmbackup-s3) timed "$step" "$tool" "$VMBACKUP" --repo "$s3_repo" backup --compression 3 --image "disk=$img" ;;
    restic-s3) timed "$step" "$tool" "${restic_s3[@]}" backup "$img" ;;
  esac
  REPO_TOTAL[$step,$tool]=$(repo_bytes "$tool")
  STORED[$step,$tool]=$((REPO_TOTAL[$step,$tool] - before))
}

restore () {     # TOOL; sets RESTORED
  local tool=$1 out=$work/restore-$1
  case $tool in
    vmbackup) timed restore "$tool" "$VMBACKUP" --repo "$local_repo" restore disk --to "$out.img"
      RESTORED=$out.img ;;
    vmbackup-s3) timed restore "$tool" "$VMBACKUP" --repo "$s3_repo" restore disk --to "$out.img"
      RESTORED=$out.img ;;
    restic-s3) timed restore "$tool" "${restic_s3[@]}" restore latest --target "$out"
      RESTORED=$out$img ;;
  esac
}

# ---- run ------------------------------------------------------------------

echo "bench-s3: scratch directory $work"
echo "bench-s3: starting the Ceph cluster"
CEPH_TLS=${BENCH_S3_TLS:-0} start_ceph
# shellcheck disable=SC2154  # $s3_endpoint: set by start_ceph
export VMBACKUP_S3_ENDPOINT=$s3_endpoint
# A command, not a function, so that /usr/bin/time can run it.
restic_s3=(restic -o s3.region="$AWS_DEFAULT_REGION" -r "s3:$s3_endpoint/restic")
if [[ ${BENCH_S3_TLS:-0} == 1 ]]; then
  # shellcheck disable=SC2154  # set by start_ceph
  export VMBACKUP_S3_ENDPOINT=$s3_tls_endpoint AWS_CA_BUNDLE=$s3_tls_ca
  restic_s3=(restic --cacert "$s3_tls_ca" -o s3.region="$AWS_DEFAULT_REGION"
             -r "s3:$s3_tls_endpoint/restic")
fi
echo "bench-s3: radosgw at $VMBACKUP_S3_ENDPOINT"
echo "bench-s3: building 4 GiB test image"
make_image
init_repos

for tool in "${TOOLS[@]}"; do
  echo "bench-s3: first backup, $tool"
  backup first "$tool"
done
echo "bench-s3: changing ~100 MiB of the image"
change_image
for tool in "${TOOLS[@]}"; do
  echo "bench-s3: second backup, $tool"
  backup second "$tool"
done
for tool in "${TOOLS[@]}"; do
  echo "bench-s3: restore, $tool"
  restore "$tool"
  if cmp -s "$img" "$RESTORED"; then
    echo "bench-s3: $tool restore is identical to the image"
  elif [[ $tool == vmbackup* ]]; then
    cmp "$img" "$RESTORED" >&2 || true
    die "$tool restore differs from the image"
  else
    echo "bench-s3: WARNING: $tool restore differs from the image" >&2
  fi
  STORED[restore,$tool]=$(du -B1 "$RESTORED" | cut -f1)
  rm -rf "$work/restore-$tool" "$work/restore-$tool.img"
done

# ---- report ---------------------------------------------------------------

echo
echo "S3 endpoint: $VMBACKUP_S3_ENDPOINT"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "stored = repository growth (du -sb, or the bucket's bytes by radosgw)"
echo "for backups; allocated bytes of the restored image for restore."
echo "cluster cpu = the Ceph daemons' CPU during the step (same cores)."
printf '%-8s %-12s %9s %9s %12s %14s %14s\n' step tool "wall s" "cpu s" "cluster cpu" stored "repo total"
for step in "${STEPS[@]}"; do
  for tool in "${TOOLS[@]}"; do
    printf '%-8s %-12s %9.2f %9.2f %12.2f %14s %14s\n' "$step" "$tool" \
      "${WALL[$step,$tool]}" "${CPU[$step,$tool]}" "${CLUSTER[$step,$tool]}" \
      "${STORED[$step,$tool]}" "${REPO_TOTAL[$step,$tool]:--}"
  done
done
echo
line="vmbackup-s3/vmbackup wall (target <= 1.5x):"
sep=" "
for step in "${STEPS[@]}"; do
  line+="$sep$step $(ratio "${WALL[$step,vmbackup-s3]}" "${WALL[$step,vmbackup]}")x"
  sep=", "
done
echo "$line"
# The least wall time any S3 client could take here: the local run's own
# CPU plus the cluster's for the S3 run, spread perfectly over the
# cores.  A target below it cannot be met on this machine.
cores=$(nproc)
line="floor on $cores cores, (vmbackup cpu + vmbackup-s3 cluster cpu) / $cores, against vmbackup's wall:"
sep=" "
for step in "${STEPS[@]}"; do
  floor=$(awk -v c="${CPU[$step,vmbackup]}" -v k="${CLUSTER[$step,vmbackup-s3]}" -v n="$cores" \
    'BEGIN { printf "%.2f", (c + k) / n }')
  line+="$sep$step ${floor} s = $(ratio "$floor" "${WALL[$step,vmbackup]}")x"
  sep=", "
done
echo "$line"
if uses restic-s3; then
  line="restic-s3/vmbackup-s3 wall (target >= 2x):"
  sep=" "
  for step in "${STEPS[@]}"; do
    line+="$sep$step $(ratio "${WALL[$step,restic-s3]}" "${WALL[$step,vmbackup-s3]}")x"
    sep=", "
  done
  echo "$line"
  line="restic-s3 wall / the floor above (the best vmbackup-s3 could do):"
  sep=" "
  for step in "${STEPS[@]}"; do
    floor=$(awk -v c="${CPU[$step,vmbackup]}" -v k="${CLUSTER[$step,vmbackup-s3]}" -v n="$cores" \
      'BEGIN { printf "%.2f", (c + k) / n }')
    line+="$sep$step $(ratio "${WALL[$step,restic-s3]}" "$floor")x"
    sep=", "
  done
  echo "$line"
fi
