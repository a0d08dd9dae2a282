#!/bin/sh
# Run one libFuzzer harness for $FUZZ_SECONDS (default 20) on a scratch
# copy of its seed corpus: libFuzzer adds the inputs it finds to the
# corpus directory it is given, and the source tree must stay clean.
# Crashing inputs are kept in ARTIFACT_DIR (in the build tree).
#
# usage: run-fuzzer.sh HARNESS SEED_DIR ARTIFACT_DIR [LIBFUZZER_OPTION...]
set -eu

if [ $# -lt 3 ]; then
  echo "usage: $0 HARNESS SEED_DIR ARTIFACT_DIR [OPTION...]" >&2
  exit 2
fi
harness=$1 seeds=$2 artifacts=$3
shift 3

work=$(mktemp -d "${TMPDIR:-/tmp}/vmb-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$seeds"/. "$work"/
mkdir -p "$artifacts"

# libFuzzer's own failure exit code is 77, which meson reads as "skipped":
# a crash must be a failure.
"$harness" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=2048 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" "$work"
