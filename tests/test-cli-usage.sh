#!/usr/bin/env bash
# The command line contract: --help on stdout with exit 0, usage errors
# with exit 2, clear one-line errors with exit 1.
source "$(dirname "$0")/functions.sh"

for cmd in init backup list restore verify prune gc plan events serve files \
           "files backup" "files ls" "files restore" job "job list" "job show" \
           "job run"; do
  # shellcheck disable=SC2086
  out=$(vmb $cmd --help)
  grep -q "^usage: vmbackup .*$cmd" <<<"$out" || fail "$cmd --help: no usage line"
  width=$(awk '{ if (length > w) w = length } END { print w }' <<<"$out")
  [ "$width" -le 80 ] || fail "$cmd --help is $width columns wide"
done
vmb --help | grep -q "Commands:" || fail "vmbackup --help lists no commands"
# --help is generated from each command's option declarations.
vmb backup --help | grep -q "^  --compression N  *zstd level" \
  || fail "backup --help does not list --compression"
vmb files backup -h | grep -q "^  --exclude PATTERN" \
  || fail "files backup -h does not list --exclude"

expect_fail 2 "unrecognized option|Try 'vmbackup" vmb list --bogus
expect_fail 2 "^Try 'vmbackup files ls --help'" vmb files ls --bogus
expect_fail 2 "unrecognized option '--bogus'" vmb --bogus
expect_fail 2 "option '--json' takes no value" vmb list --json=yes
expect_fail 2 "option '--repo' needs a value" vmb list --repo
expect_fail 2 "bad compression level '20' \(a number from 1 to 19\)" \
  vmb backup --image a=/dev/null --compression 20
expect_fail 2 "bad count 'x'" vmb prune --keep-daily x
expect_fail 2 "--consistency is auto, application, crash or offline" \
  vmb backup vm --consistency sometimes
expect_fail 2 "--format is raw or qcow2" vmb restore x --to y --format vmdk
expect_fail 2 "unknown files command 'frob' \(backup, ls or restore\)" \
  vmb files frob
expect_fail 2 "unknown command 'frobnicate'" vmb frobnicate
expect_fail 2 "usage: vmbackup" vmb
expect_fail 2 "NAME=PATH" vmb backup --image justaname
expect_fail 2 "bad backup name" vmb backup --image '../x=/dev/null'
expect_fail 2 "at least one --keep" vmb prune
expect_fail 2 "give exactly one backup ID" vmb restore
expect_fail 2 "does not go with VM options" vmb restore x --to y --replace

# No repository configured.
( unset VMBACKUP_REPO; expect_fail 1 "no repository: use --repo" vmb list )

# Not a repository yet.
expect_fail 1 "not a vmbackup repository \(run 'vmbackup init' first\)" vmb list

vmb init >/dev/null
[ -f "$VMBACKUP_REPO/config" ] || fail "init made no config"
# init refuses a non-empty directory, and leaves it alone.
expect_fail 1 "directory is not empty" vmb init
mkdir "$scratch/other"; touch "$scratch/other/keep"
expect_fail 1 "directory is not empty" vmb --repo "$scratch/other" init
[ -f "$scratch/other/keep" ] || fail "init touched a non-empty directory"
expect_fail 2 "bad chunk size" vmb --repo "$scratch/r2" init --chunk-size 4X
expect_fail 1 "power of two" vmb --repo "$scratch/r2" init --chunk-size 32M
expect_fail 1 "power of two" vmb --repo "$scratch/r3" init --chunk-size 100K
vmb --repo "$scratch/r4" init --chunk-size 64K | grep -q "64.0 KiB" \
  || fail "init --chunk-size 64K"
# --repo after the command, as before it.
vmb init --repo "$scratch/r5" --chunk-size 64K >/dev/null
vmb list --repo "$scratch/r5" >/dev/null || fail "list --repo after the command"

# Bad input to commands against a valid repository.
expect_fail 1 "no backup named nosuch" vmb restore nosuch --to "$scratch/x"
expect_fail 1 "no such file|No such file" vmb backup --image a="$scratch/missing.img"
[ -z "$(find "$VMBACKUP_REPO/backups" -type f)" ] || fail "failed backup left a manifest or reservation"
echo OK
