#!/usr/bin/env bash
# Benchmark: vmbackup files to a local repository against the same to a
# repository over ssh (a real sshd on 127.0.0.1, as the tests start
# it), in one run, on the same tree: a copy of /usr/share (as
# bench-files.sh) plus one large incompressible file, so that both the
# many-small-files and the streaming paths are measured.  Steps: first
# backup; second backup with --reread (every file read again, every
# chunk deduplicated against the server's: the reuse checks); a backup
# again without it (unchanged files are not read: their chunks are
# reused by reference, one check each); a restore.
# Prints wall and CPU seconds of the client and the ratio remote/local.
#
# Over ssh://localhost both ends share the machine's cores and every
# byte is encrypted and decrypted once each way, so "close to local"
# is the goal only where the link is not the bottleneck.
#
# Environment:
#   VMBACKUP    vmbackup binary (default: ../build/vmbackup from here)
#   BENCH_DIR   parent of the scratch directory (default: /var/tmp)
#   BENCH_SRC   tree to copy (default: /usr/share)
#   BENCH_BIG_MB  size of the large random file (default 512)
#   BENCH_ROUNDS  rounds (default 1); each step's best time is kept,
#               local and remote alternating, which evens out a noisy
#               machine
#   BENCH_KEEP  if 1, keep the scratch directory
#
# Exit status: 0 done, 1 failure (including a wrong restore), 77 a
# required tool is missing.  Needs root (sshd).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMBACKUP=${VMBACKUP:-$script_dir/../build/vmbackup}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
BENCH_SRC=${BENCH_SRC:-/usr/share}
BENCH_BIG_MB=${BENCH_BIG_MB:-512}
BENCH_ROUNDS=${BENCH_ROUNDS:-1}
MODES=(local remote)
STEPS=(first second again restore)

die () { echo "bench-remote: $*" >&2; exit 1; }
skip () { echo "bench-remote: $*, skipping" >&2; exit 77; }

[[ -x $VMBACKUP ]] || skip "vmbackup binary not found at $VMBACKUP (set \$VMBACKUP)"
VMBACKUP=$(cd "$(dirname "$VMBACKUP")" && pwd)/$(basename "$VMBACKUP")
[[ -d $BENCH_SRC ]] || skip "$BENCH_SRC is not a directory"
command -v openssl >/dev/null 2>&1 || skip "openssl is not installed"

mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/bench-remote.XXXXXX")
# shellcheck source=bench-common.sh
source "$script_dir/bench-common.sh"

# What tests/functions-ssh.sh expects of tests/functions.sh.
scratch=$work
_cleanups=()
cleanup_fn () { _cleanups=("$*" "${_cleanups[@]}"); }
requires () { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }
requires_root () { [[ $(id -u) == 0 ]] || skip "needs root ($*)"; }
fail () { die "$*"; }
cleanup () {
  local f
  for f in "${_cleanups[@]}"; do eval "$f" || true; done
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "bench-remote: keeping $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
# shellcheck source=../tests/functions-ssh.sh
source "$script_dir/../tests/functions-ssh.sh"
start_sshd
authorize_key
export VMBACKUP_EVENT_LOG=$work/events.log

tree=$work/tree
mkdir -p "$tree"
cp -a "$BENCH_SRC" "$tree/share"
(set +o pipefail; random_stream 7 | head -c $((BENCH_BIG_MB << 20)) > "$tree/big")

repo_of () {
  case $1 in
    local) echo "$work/repo-local" ;;
    remote) echo "ssh://root@127.0.0.1:$ssh_port$work/repo-remote" ;;
  esac
}

declare -A WALL CPU
timed () {
  local step=$1 mode=$2; shift 2
  local log=$work/log-$step-$mode tf=$work/time-$step-$mode rc=0 wall user sys
  drop_caches
  time_into "$tf" "$log" "$@" || rc=$?
  (( rc == 0 )) || { tail -n 20 "$log" >&2; die "$step $mode failed (exit $rc)"; }
  read -r wall user sys < <(tail -n 1 "$tf")
  if [[ -z ${WALL[$step,$mode]:-} ]] ||
     awk -v a="$wall" -v b="${WALL[$step,$mode]}" 'BEGIN { exit !(a < b) }'; then
    WALL[$step,$mode]=$wall
    CPU[$step,$mode]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  fi
}

for ((round = 1; round <= BENCH_ROUNDS; round++)); do
for mode in "${MODES[@]}"; do
  repo=$(repo_of "$mode")
  case $mode in
    local) rm -rf "$work/repo-local" ;;
    remote) rm -rf "$work/repo-remote" ;;
  esac
  "$VMBACKUP" --repo "$repo" init > /dev/null
  timed first "$mode" "$VMBACKUP" --repo "$repo" files backup --name t "$tree"
  timed second "$mode" "$VMBACKUP" --repo "$repo" files backup --name t "$tree" --reread
  timed again "$mode" "$VMBACKUP" --repo "$repo" files backup --name t "$tree"
  out=$work/out-$mode
  timed restore "$mode" "$VMBACKUP" --repo "$repo" files restore t --to "$out"
  diff -r --no-dereference "$tree" "$out$tree" > /dev/null || die "$mode restore differs"
  rm -rf "$out"
done
done

size=$(du -sb "$tree" | cut -f1)
entries=$(find "$tree" | wc -l)
echo "tree: $((size >> 20)) MiB, $entries entries ($BENCH_SRC + ${BENCH_BIG_MB} MiB random); $(nproc) CPUs; best of $BENCH_ROUNDS"
printf '%-8s %10s %10s %10s %10s %8s\n' step local-s remote-s local-cpu remote-cpu ratio
for step in "${STEPS[@]}"; do
  printf '%-8s %10s %10s %10s %10s %8s\n' "$step" "${WALL[$step,local]}" \
    "${WALL[$step,remote]}" "${CPU[$step,local]}" "${CPU[$step,remote]}" \
    "$(ratio "${WALL[$step,remote]}" "${WALL[$step,local]}")"
done
echo "ratio: remote wall time / local wall time (1.00 = as fast as local)"
