#!/usr/bin/env bash
# Benchmark: vmbackup files against restic and borg on a directory tree.
#
# Copies /usr/share (about 1 GiB and 60-70,000 entries on a Debian host
# with the build dependencies; whatever is there is used, and its size
# printed), then times for each tool a first backup, a second backup
# after small changes (appends to and touches of a few files, a few new
# files), and a restore of the second backup.  All tools see the same
# tree at each step.  See bench/README.md.
#
# Environment:
#   VMBACKUP    vmbackup binary (default: ../build/vmbackup from here)
#   BENCH_DIR   parent of the scratch directory (default: /var/tmp)
#   BENCH_SRC   tree to copy (default: /usr/share)
#   BENCH_KEEP  if 1, keep the scratch directory
#
# Exit status: 0 done, 1 failure (including a wrong vmbackup restore),
# 77 a required tool is missing.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMBACKUP=${VMBACKUP:-$script_dir/../build/vmbackup}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
BENCH_SRC=${BENCH_SRC:-/usr/share}
TOOLS=(vmbackup restic borg)
STEPS=(first second restore)

die () { echo "bench-files: $*" >&2; exit 1; }
skip () { echo "bench-files: $*, skipping" >&2; exit 77; }

[[ -x $VMBACKUP ]] || skip "vmbackup binary not found at $VMBACKUP (set \$VMBACKUP)"
VMBACKUP=$(cd "$(dirname "$VMBACKUP")" && pwd)/$(basename "$VMBACKUP")
for t in restic borg openssl diff du cp; do
  command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
[[ -d $BENCH_SRC ]] || skip "$BENCH_SRC is not a directory"

mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/bench-files.XXXXXX")
# shellcheck source=bench-common.sh
source "$script_dir/bench-common.sh"
cleanup () {
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "bench-files: keeping $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

tree=$work/tree
export RESTIC_PASSWORD=bench
export RESTIC_CACHE_DIR=$work/restic-cache
export BORG_BASE_DIR=$work/borg-base
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
export VMBACKUP_EVENT_LOG=$work/events.log

# ---- test data ------------------------------------------------------------

make_tree () {
  mkdir -p "$tree"
  cp -a "$BENCH_SRC" "$tree/share"
}

# Small changes: append to 5 files, touch 5, add 5 (4 KiB to 4 MiB).
change_tree () {
  local files i=0
  mapfile -t files < <(find "$tree/share" -type f -size +8k | sort | awk 'NR % 997 == 0' | head -n 10)
  for f in "${files[@]:0:5}"; do echo "appended line $i" >> "$f"; i=$((i + 1)); done
  for f in "${files[@]:5:5}"; do touch "$f"; done
  for i in 1 2 3 4 5; do
    (set +o pipefail; random_stream $((30 + i)) | head -c $((4096 << (2 * i - 2))) \
      > "$tree/share/new-file-$i")
  done
}

# ---- measuring (as bench-image.sh) ----------------------------------------

declare -A WALL CPU STORED REPO_TOTAL

timed () {
  local step=$1 tool=$2; shift 2
  local log=$work/log-$step-$tool tf=$work/time-$step-$tool
  local rc=0 wall user sys
  drop_caches
  time_into "$tf" "$log" "$@" || rc=$?
  if (( rc != 0 )); then
    echo "bench-files: $step $tool failed (exit $rc): $*" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  read -r wall user sys < <(tail -n 1 "$tf")
  WALL[$step,$tool]=$wall
  CPU[$step,$tool]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

repo_bytes () { du -sb "$1" | cut -f1; }
repo_of () { echo "$work/repo-$1"; }

init_repos () {
  "$VMBACKUP" --repo "$(repo_of vmbackup)" init > /dev/null
  local v2=()
  if restic init --help 2>&1 | grep -q -- --repository-version; then
    v2=(--repository-version 2)
  fi
  restic init "${v2[@]}" --repo "$(repo_of restic)" > /dev/null
  borg init -e none "$(repo_of borg)"
}

backup () {      # STEP TOOL
  local step=$1 tool=$2 repo before after
  repo=$(repo_of "$tool")
  before=$(repo_bytes "$repo")
  case $tool in
    vmbackup) timed "$step" "$tool" "$VMBACKUP" --repo "$repo" files backup --name share "$tree" ;;
    restic)   timed "$step" "$tool" restic --repo "$repo" backup "$tree" ;;
    borg)     timed "$step" "$tool" borg create --compression zstd,3 "$repo::$step" "$tree" ;;
  esac
  after=$(repo_bytes "$repo")
  STORED[$step,$tool]=$((after - before))
  REPO_TOTAL[$step,$tool]=$after
}

restore () {     # TOOL; sets RESTORED to the restored copy of $tree
  local tool=$1 repo out
  repo=$(repo_of "$tool")
  out=$work/restore-$tool
  case $tool in
    vmbackup)
      timed restore vmbackup "$VMBACKUP" --repo "$repo" files restore share --to "$out" ;;
    restic)
      timed restore restic restic --repo "$repo" restore latest --target "$out" ;;
    borg)
      mkdir "$out"
      # shellcheck disable=SC2016  # expanded by the inner bash
      timed restore borg bash -c 'cd "$1" && exec borg extract --sparse "$2::second"' \
            _ "$out" "$repo" ;;
  esac
  RESTORED=$out$tree
}

# ---- run ------------------------------------------------------------------

echo "bench-files: scratch directory $work"
echo "bench-files: copying $BENCH_SRC"
make_tree
echo "bench-files: tree $(du -sb "$tree" | cut -f1) bytes," \
     "$(find "$tree" | wc -l) entries"
init_repos

for tool in "${TOOLS[@]}"; do
  echo "bench-files: first backup, $tool"
  backup first "$tool"
done
echo "bench-files: changing a few files"
change_tree
for tool in "${TOOLS[@]}"; do
  echo "bench-files: second backup, $tool"
  backup second "$tool"
done
for tool in "${TOOLS[@]}"; do
  echo "bench-files: restore, $tool"
  restore "$tool"
  if diff -r --no-dereference "$tree" "$RESTORED" > "$work/diff-$tool" 2>&1; then
    echo "bench-files: $tool restore is identical to the tree"
  elif [[ $tool == vmbackup ]]; then
    head "$work/diff-$tool" >&2
    die "vmbackup restore differs from the tree"
  else
    echo "bench-files: WARNING: $tool restore differs from the tree" >&2
  fi
  STORED[restore,$tool]=$(du -sB1 "$RESTORED" | cut -f1)
  rm -rf "$work/restore-$tool"
done

echo "bench-files: vmbackup's own account:"
cat "$work/log-first-vmbackup" "$work/log-second-vmbackup"

# ---- report ---------------------------------------------------------------

ratio () { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo
echo "stored = repository growth (du -sb) for backups; allocated bytes of the"
echo "restored tree for restore.  ratios are tool/vmbackup (>1: vmbackup wins)."
printf '%-8s %-9s %9s %9s %14s %14s %8s %8s\n' \
  step tool "wall s" "cpu s" "stored" "repo total" "wall x" "stored x"
for step in "${STEPS[@]}"; do
  for tool in "${TOOLS[@]}"; do
    total=${REPO_TOTAL[$step,$tool]:--}
    printf '%-8s %-9s %9.2f %9.2f %14s %14s %8s %8s\n' "$step" "$tool" \
      "${WALL[$step,$tool]}" "${CPU[$step,$tool]}" \
      "${STORED[$step,$tool]}" "$total" \
      "$(ratio "${WALL[$step,$tool]}" "${WALL[$step,vmbackup]}")" \
      "$(ratio "${STORED[$step,$tool]}" "${STORED[$step,vmbackup]}")"
  done
done
echo
for tool in "${TOOLS[@]:1}"; do
  line="$tool/vmbackup wall:"
  sep=" "
  for step in "${STEPS[@]}"; do
    line+="$sep$step $(ratio "${WALL[$step,$tool]}" "${WALL[$step,vmbackup]}")x"
    sep=", "
  done
  line+="; stored: first $(ratio "${STORED[first,$tool]}" "${STORED[first,vmbackup]}")x"
  line+=", second $(ratio "${STORED[second,$tool]}" "${STORED[second,vmbackup]}")x"
  echo "$line"
done
