#!/usr/bin/env bash
# Install dependencies, build, and run every test: unit, CLI, docs, style,
# S3 (a real Ceph cluster) and VM tests in a normal build, unit, CLI and
# VM tests again under ASan/UBSan (the guardian and restore paths run
# only with real guests; the 'sanitize' suite is all but the tests of
# random kills, see tests/meson.build), and the libFuzzer harnesses in a
# clang build.  Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

scripts/install-deps.sh || exit 1
scripts/build.sh || exit 1

[ -f build-asan/build.ninja ] || CC=gcc meson setup build-asan -Dwerror=true \
  -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz \
  -Dfuzz=true -Db_lundef=false >/dev/null || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run () {
  local dir=$1; shift
  echo "=== meson test -C $dir $*"
  meson test -C "$dir" --print-errorlogs "$@"
}
run build
run build-asan --suite unit --suite sanitize
run build-fuzz --suite fuzz

# One line for CI: count every test of every run.
python3 - "$top" <<'PY'
import json, sys, os
passed = failed = skipped = 0
for d in ("build", "build-asan", "build-fuzz"):
    log = os.path.join(sys.argv[1], d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        failed += 1
        print(f"{d}: no test log")
        continue
    for line in open(log):
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
