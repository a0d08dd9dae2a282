# Helpers for the NBD export tests.  Source after tests/functions.sh:
#
#   start_export OUT ID [OPTIONS]   vmbackup export in the background,
#                                   waiting until it serves; sets
#                                   $export_pid
#   stop_export                     SIGTERM, and it must exit 0
#   nbd_sock PATH                   the NBD URI of a unix socket
#   $plugin                         the build's nbdkit plugin
#   "${nbdkit[@]}" ARGS             nbdkit as tests run it with $plugin

# shellcheck shell=bash
# shellcheck disable=SC2154  # $scratch is set by tests/functions.sh

requires nbdkit
requires nbdinfo

plugin=$(dirname "$VMBACKUP")/src/nbdkit-vmbackup-plugin.so
# A sanitizer build's plugin needs the ASan runtime loaded first in
# nbdkit, as vmbackup export does (src/export/asan_preload.c).  Through
# env, so that "${nbdkit[@]}" ... & still makes $! nbdkit's own PID.
# A --run command inherits it: start it with env -u LD_PRELOAD.
nbdkit=(nbdkit)
asan_runtime=$(ldd "$plugin" 2>/dev/null | awk '/libasan/ {print $3}')
[ -z "$asan_runtime" ] || nbdkit=(env LD_PRELOAD="$asan_runtime"
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" nbdkit)

nbd_sock ()
{
  echo "nbd+unix:///?socket=$1"
}

start_export ()
{
  local out=$1 i
  shift
  # An earlier export's line must not be taken for this one's: the
  # background shell truncates $out only when it gets to run.
  rm -f "$out" "$out.err"
  # Not through vmb, a function: $! must be vmbackup itself.
  "$VMBACKUP" export "$@" > "$out" 2> "$out.err" &
  export_pid=$!
  cleanup_fn "kill $export_pid 2>/dev/null"
  for i in $(seq 300); do
    grep -qs '^exporting ' "$out" && return 0
    kill -0 "$export_pid" 2>/dev/null \
      || fail "export $* exited: $(cat "$out" "$out.err")"
    sleep 0.1
  done
  fail "export $* did not start serving: $(cat "$out" "$out.err")"
}

stop_export ()
{
  local rc=0
  kill "$export_pid"
  wait "$export_pid" || rc=$?
  [ "$rc" = 0 ] || fail "export stopped by SIGTERM exited $rc"
}
