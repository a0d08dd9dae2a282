#!/usr/bin/env bash
# The man page documents every option that a command's --help lists
# (both come from different places: the pod by hand, --help from the
# option declarations in src/cli/cmd_*.c).
source "$(dirname "$0")/functions.sh"
pod="$(dirname "$0")/../docs/vmbackup.pod"

for cmd in init backup list restore verify prune gc plan events serve info \
           "files backup" "files ls" "files restore" "key list" "key add" \
           "key remove" "key passwd" "key export" "job list" "job show" "job run" copy \
           export mount umount restore-test; do
  # shellcheck disable=SC2086
  out=$(vmb $cmd --help) || fail "$cmd --help failed"
  for opt in $(grep -oE '^  (-., )?--[a-z-]+' <<<"$out" | grep -oE -- '--[a-z-]+'); do
    [ "$opt" = --help ] && continue
    grep -qE "B<$opt[> ]" "$pod" || fail "$cmd $opt is not in vmbackup.pod"
  done
done
echo OK
