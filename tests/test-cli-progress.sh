#!/usr/bin/env bash
# A progress bar (bytes, rate, ETA) on a terminal; nothing on a pipe.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
requires script

cd "$scratch"
vmb init >/dev/null
truncate -s 1G p.img
put_random p.img 0 400

# Not a terminal: stderr stays empty.
vmb backup --image p=p.img > out 2> err
[ ! -s err ] || fail "progress written to a non-terminal: $(cat err)"

# On a terminal (script(1) gives us a pty).
script -qec "$VMBACKUP backup --image p=p.img" /dev/null > tty.out
grep -aqE 'p: +[0-9.]+% .* / 1\.0 GiB .*/s +ETA' tty.out || fail "no progress bar on a terminal: $(cat -v tty.out | head -5)"
script -qec "$VMBACKUP restore p --to $scratch/r.img" /dev/null > tty2.out
grep -aqE 'p: +[0-9.]+% .*ETA' tty2.out || fail "no restore progress: $(cat -v tty2.out | head -5)"
echo OK
