#!/usr/bin/env bash
# Install dependencies, build, and run every test: unit, CLI, docs, style,
# S3 (a real Ceph cluster) and VM tests in a normal build, unit, CLI and
# VM tests again under ASan/UBSan (the guardian and restore paths run
# only with real guests; the tests of random kills run once, see
# tests/meson.build), and the libFuzzer harnesses in a clang build.
# Ends with "N passed, N failed, N skipped".
#
# Two lanes run at once, one per core: the VM tests (a guest under TCG
# keeps one core busy while it boots, and then mostly waits), and
# everything else.  One after the other they took 71 min on a 2-core
# machine; side by side, see bench/README.md "The test suite's time".
# What they share is made ready first (tests/vm/prepare.sh): libvirt,
# started once and kept, and the test guest, built once.  Every test
# has its own scratch directory, ports the kernel chose, and VM names of
# its own, so the lanes cannot meet otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

scripts/install-deps.sh || exit 1
scripts/build.sh || exit 1

[ -f build-asan/build.ninja ] || CC=gcc meson setup build-asan -Dwerror=true \
  -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz \
  -Dfuzz=true -Db_lundef=false >/dev/null || exit 1
# Built before the lanes start: two meson test runs must not both build
# the same directory.
for d in build build-asan build-fuzz; do
  ninja -C "$d" >/dev/null ||
    { echo "build of $d failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
done

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export VMB_KEEP_LIBVIRT=1
# Should it fail, the VM tests each say why (and fail).
VMBACKUP=$top/build/vmbackup bash tests/vm/prepare.sh ||
  echo "tests/vm/prepare.sh failed: libvirt or the test guest is not ready"

# run DIR LANE SUITE...: one meson test run, its log named after the lane.
run ()
{
  local dir=$1 lane=$2 args=()
  shift 2
  for s in "$@"; do args+=(--suite "$s"); done
  echo "=== meson test -C $dir ${args[*]}"
  meson test -C "$dir" --no-rebuild --print-errorlogs --logbase "$lane" \
    "${args[@]}"
}
# Balanced by the times of the runs (bench/README.md): the VM tests
# twice (with the S3 one that boots a guest), a quarter of the CLI
# tests under ASan and the fuzzers, beside the CLI tests (the rest of
# them under ASan) and the other S3 tests.
vm_lane ()
{
  run build vm vm s3-vm
  run build-asan vm sanitize-vm sanitize-cli-vm-lane
  run build-fuzz vm fuzz
}
other_lane ()
{
  run build other unit cli docs style s3
  run build-asan other unit sanitize-cli-other-lane
}
# Each lane's lines carry its name, as they come.
t0=$SECONDS
vm_lane 2>&1 | sed -u 's/^/[vm] /' &
vm_pid=$!
other_lane 2>&1 | sed -u 's/^/[other] /' &
other_pid=$!
wait $vm_pid $other_pid
echo "both lanes done in $(( (SECONDS - t0) / 60 )) min $(( (SECONDS - t0) % 60 )) s"

# One line for CI: count every test of every run.
python3 - "$top" <<'PY'
import json, sys, os
passed = failed = skipped = 0
failures = []
for d, lane in (("build", "vm"), ("build", "other"), ("build-asan", "vm"),
                ("build-asan", "other"), ("build-fuzz", "vm")):
    log = os.path.join(sys.argv[1], d, "meson-logs", lane + ".json")
    if not os.path.exists(log):
        failed += 1
        print(f"{d}: no test log {lane}.json")
        continue
    for line in open(log):
        t = json.loads(line)
        r = t["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append((d, r, t))
# CI shows only the tail of the output: name each failure there, with
# the last lines it wrote, so a failure is never known only by number.
for d, r, t in failures:
    print(f"FAILED: {d} {t['name']} ({r})")
    for out in (t.get("stderr") or "", t.get("stdout") or ""):
        for l in out.strip().splitlines()[-3:]:
            print(f"    {l}")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
