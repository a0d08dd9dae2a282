# Shared helpers for the shell tests (the libnbd/nbdkit tests/functions.sh
# idiom).  Source it first thing:  source "$(dirname "$0")/functions.sh"
set -euo pipefail

: "${VMBACKUP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/vmbackup}"
export VMBACKUP

# Skip (exit 77) with a reason when a tool is missing.
requires ()
{
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "$0: SKIP: '$1' is not installed"
    exit 77
  fi
}

requires_root ()
{
  if [ "$(id -u)" != 0 ]; then
    echo "$0: SKIP: needs root ($*)"
    exit 77
  fi
}

fail ()
{
  echo "FAIL: $*" >&2
  exit 1
}

# Run cleanup functions on exit, last registered first.
_cleanup_fns=()
cleanup_fn ()
{
  _cleanup_fns=("$*" "${_cleanup_fns[@]}")
}
_run_cleanup ()
{
  local rc=$? f
  for f in "${_cleanup_fns[@]}"; do eval "$f" || true; done
  exit $rc
}
trap _run_cleanup EXIT

# A command that fails under set -e ends the test: say which, so a test
# never fails without a word (set -E: in functions and subshells too,
# such as a helper run in the background).
_on_error ()
{
  echo "FAIL: ${2##*/}:$3: '$4' exited $1" >&2
}
set -E
trap '_on_error $? "${BASH_SOURCE[0]}" $LINENO "$BASH_COMMAND"' ERR

# A private scratch directory under /var/tmp (tmpfs /tmp may be small).
scratch=$(mktemp -d "${TMPDIR:-/var/tmp}/vmbackup-test.XXXXXX")
cleanup_fn "rm -rf '$scratch'"
export VMBACKUP_REPO="$scratch/repo"
export VMBACKUP_EVENT_LOG="$scratch/events.log"
# New repositories are encrypted by default; the key is a key file (no
# scrypt per command, so tests stay fast), made by the first init.  A
# test of a repository in the clear unsets it (a key given for one is
# refused) and says init --encryption none.
export VMBACKUP_KEY_FILE="$scratch/repo.key"
# For a test that reads or forges stored bytes through their format in
# the clear (its inits say --encryption none).
in_the_clear ()
{
  unset VMBACKUP_KEY_FILE
}

vmb ()
{
  "$VMBACKUP" "$@"
}

# Expect a command to fail with a given exit code and a one-line error
# matching a pattern: expect_fail CODE PATTERN CMD...
expect_fail ()
{
  local code=$1 pattern=$2 rc=0
  shift 2
  "$@" >"$scratch/out" 2>"$scratch/err" || rc=$?
  if [ "$rc" != "$code" ]; then
    cat "$scratch/out" "$scratch/err" >&2
    fail "expected exit $code from '$*', got $rc"
  fi
  if ! grep -qE -- "$pattern" "$scratch/err"; then
    cat "$scratch/err" >&2
    fail "stderr of '$*' does not match '$pattern'"
  fi
}

# A memory bound of KIB for the normal build.  AddressSanitizer adds
# shadow memory, redzones and a quarantine of freed blocks (measured:
# 73 MiB -> 101 MiB on test-image-memory), so in a sanitizer build the
# bound is half as large again: still far below what an unbounded
# buffer of the test's data would take.
rss_bound ()
{
  # Not "ldd | grep -q": under pipefail, grep leaving at the first match
  # can kill ldd with SIGPIPE and make the pipeline false (it did in CI).
  local libs
  libs=$(ldd "$VMBACKUP" 2>/dev/null || true)
  if [[ $libs == *libasan* ]]; then
    echo $(($1 * 3 / 2))
  else
    echo "$1"
  fi
}

# Write N MiB of random data at MiB offset OFF into FILE, keeping it sparse.
put_random ()
{
  dd if=/dev/urandom of="$1" bs=1M count="$3" seek="$2" conv=notrunc \
     status=none
}

# What backup ID holds, as its owner reads it (the manifest of an
# encrypted repository is sealed): "disk name=N format=F size=S" and
# "file role=R size=S path=P" lines, in the manifest's order.
backup_lines ()
{
  vmb list --json "${1%%/*}" | python3 -c '
import json, sys
for b in json.load(sys.stdin):
    if b["id"] != sys.argv[1]:
        continue
    for d in b["disks"]:
        print("disk name=%s format=%s size=%d" % (d["name"], d["format"], d["size"]))
    for f in b["files"]:
        print("file role=%s size=%d path=%s" % (f["role"], f["size"], f["path"]))
' "$1"
}

# The last backup ID of NAME.
last_id ()
{
  vmb list "$1" | awk 'NR>1 {id=$1} END {print id}'
}
