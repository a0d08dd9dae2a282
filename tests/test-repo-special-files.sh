#!/usr/bin/env bash
# A FIFO where the repository has a file (chunk, index, manifest, config,
# lock file) must not hang anyone: opening a FIFO for reading waits for a
# writer that never comes.  Every command finishes (timeout 60 would
# say 124) with a clear "not a regular file" line, and nothing is moved
# to quarantine/ or lost: once the file is back all is well.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
requires python3
requires timeout

cd "$scratch"
vmb init --chunk-size 64K >/dev/null
truncate -s 1M disk.img
put_random disk.img 0 1
vmb backup --image f=disk.img >/dev/null
id=$(last_id f)

# Run with a bound: CODE PATTERN CMD...; exit 124 is a hang.
bounded ()
{
  local code=$1 pattern=$2 rc=0
  shift 2
  [ "$1" = vmb ] && set -- "$VMBACKUP" "${@:2}"
  timeout 60 "$@" > out 2>&1 || rc=$?
  [ "$rc" != 124 ] || fail "'$*' hangs"
  [ "$rc" = "$code" ] || { cat out; fail "'$*': exit $rc, not $code"; }
  grep -qE -- "$pattern" out || { cat out; fail "'$*' does not say '$pattern'"; }
}

# Swap FILE for a FIFO (unfifo puts it back).
fifo_for ()
{
  mv "$1" saved && mkfifo "$1"
}
unfifo ()
{
  rm "$1" && mv saved "$1"
}
clean ()
{
  [ -z "$(ls -A "$VMBACKUP_REPO/quarantine" 2>/dev/null)" ] || fail "$1: quarantine/ is not empty"
  vmb verify >/dev/null 2>&1 || fail "$1: repository not clean once the file is back"
}

# A chunk.
c=$(find "$VMBACKUP_REPO/chunks" -type f | head -1)
fifo_for "$c"
bounded 1 "^BAD backup $id disk f offset [0-9]+: chunk [0-9a-f]+: not a regular file \(left in place\)" vmb verify
bounded 1 "^vmbackup: .*chunk [0-9a-f]+: not a regular file" vmb restore "$id" --to out.img
[ -p "$c" ] || fail "the FIFO chunk was moved"
unfifo "$c"; clean chunk

# An index.
i=$(ls "$VMBACKUP_REPO"/indexes/*.idx)
fifo_for "$i"
bounded 1 "^BAD backup $id disk f: index [0-9a-f]+: not a regular file" vmb verify
bounded 1 "^vmbackup: .*index [0-9a-f]+: not a regular file" vmb restore "$id" --to out.img
unfifo "$i"; clean index

# A manifest.
m="$VMBACKUP_REPO/backups/$id"
fifo_for "$m"
bounded 1 "backups/$id: not a regular file" vmb verify
bounded 1 "^vmbackup: .*backups/$id: not a regular file" vmb restore "$id" --to out.img
unfifo "$m"; clean manifest

# The config and a lock file.
fifo_for "$VMBACKUP_REPO/config"
bounded 1 "^vmbackup: .*/config: not a regular file" vmb list
unfifo "$VMBACKUP_REPO/config"
fifo_for "$VMBACKUP_REPO/locks/chunks"
bounded 1 "^vmbackup: .*locks/chunks: not a regular file" vmb backup --image f=disk.img
unfifo "$VMBACKUP_REPO/locks/chunks"
clean "config and lock"

[ ! -e out.img ] || fail "a failed restore left out.img"
vmb restore "$id" --to out.img >/dev/null && cmp disk.img out.img || fail "restore after all"
echo OK
