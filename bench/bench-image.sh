#!/usr/bin/env bash
# Benchmark: vmbackup against restic and borg on one disk image.
#
# Builds a 4 GiB sparse raw image (1 GiB random, 0.5 GiB log-like text,
# the rest holes), then times for each tool a first backup, a second
# backup after ~100 MiB of changes, and a restore of the second backup.
# All tools see the same bytes: every first backup runs before the
# image is changed, every second backup after.  See bench/README.md.
#
# Environment:
#   VMBACKUP    vmbackup binary (default: ../build/vmbackup from here)
#   BENCH_DIR   parent of the scratch directory (default: /var/tmp)
#   BENCH_KEEP  if 1, keep the scratch directory
#
# Exit status: 0 done, 1 failure (including a wrong vmbackup restore),
# 77 a required tool is missing.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VMBACKUP=${VMBACKUP:-$script_dir/../build/vmbackup}
BENCH_DIR=${BENCH_DIR:-/var/tmp}

# vmbackup: a repository in the clear (--encryption none); vmbackup-enc:
# the same into an encrypted one (the default, AES-256-GCM, with a key
# file), so the cost of encryption is measured in the same run (issue 13:
# at most 10% of wall time); restic always encrypts, borg runs with -e
# none.  BENCH_TOOLS picks the tools and their order (each step runs them
# in this order; the first of a step has been seen to run slower, so swap
# the two vmbackups to check an order effect); vmbackup must be one of
# them, as the ratios are to it.
read -ra TOOLS <<< "${BENCH_TOOLS:-vmbackup vmbackup-enc restic borg}"
STEPS=(first second restore)

die () { echo "bench-image: $*" >&2; exit 1; }
skip () { echo "bench-image: $*, skipping" >&2; exit 77; }

# ---- requirements ---------------------------------------------------------

uses () { [[ " ${TOOLS[*]} " == *" $1 "* ]]; }
uses vmbackup || die "BENCH_TOOLS must include vmbackup"
[[ -x $VMBACKUP ]] || skip "vmbackup binary not found at $VMBACKUP (set \$VMBACKUP)"
VMBACKUP=$(cd "$(dirname "$VMBACKUP")" && pwd)/$(basename "$VMBACKUP")
peers=()
for t in "${TOOLS[@]}"; do [[ $t == vmbackup* ]] || peers+=("$t"); done
for t in "${peers[@]}" qemu-nbd openssl base64 awk dd truncate cmp du; do
  command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done

# ---- scratch directory ----------------------------------------------------

mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/bench-image.XXXXXX")
# shellcheck source=bench-common.sh
source "$script_dir/bench-common.sh"
cleanup () {
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "bench-image: keeping $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

img=$work/disk.img
export RESTIC_PASSWORD=bench
export RESTIC_CACHE_DIR=$work/restic-cache
export BORG_BASE_DIR=$work/borg-base
export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

# ---- test data: make_image and change_image, in bench-common.sh ------

# ---- measuring ------------------------------------------------------------

declare -A WALL CPU STORED REPO_TOTAL

# timed STEP TOOL COMMAND...: run COMMAND from a cold cache, record wall
# and CPU seconds (user+sys, waited-for children included).
timed () {
  local step=$1 tool=$2; shift 2
  local log=$work/log-$step-$tool tf=$work/time-$step-$tool
  local rc=0 wall user sys
  drop_caches
  time_into "$tf" "$log" "$@" || rc=$?
  if (( rc != 0 )); then
    echo "bench-image: $step $tool failed (exit $rc): $*" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  read -r wall user sys < <(tail -n 1 "$tf")
  WALL[$step,$tool]=$wall
  CPU[$step,$tool]=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

repo_bytes () { du -sb "$1" | cut -f1; }

# ---- the tools ------------------------------------------------------------

repo_of () { echo "$work/repo-$1"; }
# vmbackup on a repository in the clear (a key given for one is refused);
# a command, not a function, so that /usr/bin/time can run it.
vmb_clear=(env -u VMBACKUP_KEY_FILE "$VMBACKUP")

init_repos () {
  "${vmb_clear[@]}" --repo "$(repo_of vmbackup)" init --encryption none > /dev/null
  "$VMBACKUP" --repo "$(repo_of vmbackup-enc)" init --encryption aes-256-gcm \
    > /dev/null
  if uses restic; then
    local v2=()
    if restic init --help 2>&1 | grep -q -- --repository-version; then
      v2=(--repository-version 2)
    fi
    restic init "${v2[@]}" --repo "$(repo_of restic)" > /dev/null
  fi
  if uses borg; then borg init -e none "$(repo_of borg)"; fi
}

backup () {      # STEP TOOL
  local step=$1 tool=$2 repo before after
  repo=$(repo_of "$tool")
  before=$(repo_bytes "$repo")
  case $tool in
    # Level 3, as restic's "auto" and borg's zstd,3: the same compression
    # for every tool (vmbackup's own default for disks is 1).
    vmbackup) timed "$step" "$tool" "${vmb_clear[@]}" --repo "$repo" backup --compression 3 --image "disk=$img" ;;
    vmbackup-enc) timed "$step" "$tool" "$VMBACKUP" --repo "$repo" backup --compression 3 --image "disk=$img" ;;
    restic)   timed "$step" "$tool" restic --repo "$repo" backup "$img" ;;
    borg)     timed "$step" "$tool" borg create --compression zstd,3 "$repo::$step" "$img" ;;
  esac
  after=$(repo_bytes "$repo")
  STORED[$step,$tool]=$((after - before))
  REPO_TOTAL[$step,$tool]=$after
}

# Restore the latest backup; print the path of the restored image.
restore () {     # TOOL
  local tool=$1 repo out
  repo=$(repo_of "$tool")
  out=$work/restore-$tool
  case $tool in
    vmbackup)
      timed restore vmbackup "${vmb_clear[@]}" --repo "$repo" restore disk --to "$out.img"
      RESTORED=$out.img ;;
    vmbackup-enc)
      timed restore vmbackup-enc "$VMBACKUP" --repo "$repo" restore disk --to "$out.img"
      RESTORED=$out.img ;;
    restic)
      timed restore restic restic --repo "$repo" restore latest --target "$out"
      RESTORED=$out$img ;;
    borg)
      mkdir "$out"
      # shellcheck disable=SC2016  # expanded by the inner bash
      timed restore borg bash -c 'cd "$1" && exec borg extract --sparse "$2::second"' \
            _ "$out" "$repo"
      RESTORED=$out/${img#/} ;;
  esac
}

# ---- run ------------------------------------------------------------------

echo "bench-image: scratch directory $work"
echo "bench-image: building 4 GiB test image"
make_image
echo "bench-image: image $(du -b --apparent-size "$img" | cut -f1) bytes," \
     "$(du -B1 "$img" | cut -f1) allocated"
init_repos

for tool in "${TOOLS[@]}"; do
  echo "bench-image: first backup, $tool"
  backup first "$tool"
done

echo "bench-image: changing ~100 MiB of the image"
change_image

for tool in "${TOOLS[@]}"; do
  echo "bench-image: second backup, $tool"
  backup second "$tool"
done

for tool in "${TOOLS[@]}"; do
  echo "bench-image: restore, $tool"
  restore "$tool"
  if cmp -s "$img" "$RESTORED"; then
    echo "bench-image: $tool restore is identical to the image"
  elif [[ $tool == vmbackup* ]]; then
    cmp "$img" "$RESTORED" >&2 || true
    die "$tool restore differs from the image"
  else
    echo "bench-image: WARNING: $tool restore differs from the image" >&2
  fi
  STORED[restore,$tool]=$(du -B1 "$RESTORED" | cut -f1)   # allocated bytes
  rm -rf "$work/restore-$tool" "$work/restore-$tool.img"
done

# vmbackup's own account of what it stored, as a cross-check on du.
echo "bench-image: vmbackup list --json:"
"${vmb_clear[@]}" --repo "$(repo_of vmbackup)" list --json

# ---- report ---------------------------------------------------------------


echo
echo "stored = repository growth (du -sb) for backups; allocated bytes of the"
echo "restored image for restore.  ratios are tool/vmbackup (>1: vmbackup wins)."
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
for tool in "${TOOLS[@]}"; do
  [[ $tool == vmbackup ]] && continue
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
