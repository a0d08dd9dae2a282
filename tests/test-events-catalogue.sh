#!/usr/bin/env bash
# Every event vmbackup can write is documented in docs/events.pod with
# its cause, the action to take and whether it can be ignored; and image
# backups write their events to the host log and into the backup.
source "$(dirname "$0")/functions.sh"
requires qemu-nbd
doc="$(cd "$(dirname "$0")/.." && pwd)/docs/events.pod"
cd "$scratch"

vmb events --catalogue > catalogue
[ "$(wc -l < catalogue)" -ge 10 ] || fail "catalogue: $(cat catalogue)"
while read -r id severity _; do
  section=$(awk -v id="$id" '$1 == "=head2" && $2 == id {p=1; print; next}
                             $1 == "=head2" {p=0} p' "$doc")
  [ -n "$section" ] || fail "event $id is not documented in docs/events.pod"
  grep -q "($severity)" <<<"$section" || fail "event $id: severity $severity not documented"
  for field in Cause: Action: Ignorable:; do
    grep -q "B<$field>" <<<"$section" || fail "event $id: no $field"
  done
done < catalogue

vmb init >/dev/null
truncate -s 8M e.img
vmb backup --image ev=e.img >/dev/null
id=$(last_id ev)
vmb events ev > ev.out
grep -qE "^[0-9T:-]+Z info +1000 ev +backup of image" ev.out || fail "no 1000: $(cat ev.out)"
grep -qE "info +1001 ev " ev.out || fail "no 1001: $(cat ev.out)"
vmb events --json | python3 -c '
import json, sys
ev = json.load(sys.stdin)
assert all(e["backup"] == sys.argv[1] for e in ev if e["vm"] == "ev"), ev
' "$id" || fail "events do not name the backup $id"

# A failing backup writes 1002 naming its reserved ID; it is not listed.
expect_fail 1 "backup gone" vmb backup --image gone=/nonexistent.img
vmb events gone | grep -qE "error +1002 gone +/nonexistent.img: No such file" \
  || fail "no 1002 for a failed backup: $(vmb events gone)"
[ -z "$(vmb list gone | tail -n +2)" ] || fail "failed backup listed"
[ -z "$(ls -A "$VMBACKUP_REPO/backups/gone")" ] || fail "reservation left behind"

# --since filters; a future date shows nothing.
[ -z "$(vmb events --since 2999-01-01)" ] || fail "--since"
[ "$(vmb events --since 2000-01-01 ev | wc -l)" = 2 ] || fail "--since past"
expect_fail 2 "--since wants" vmb events --since yesterday

# A configured log that cannot be written is an error, before anything.
expect_fail 1 "event log /proc/nonexistent-dir/x/events.log" \
  vmb --event-log /proc/nonexistent-dir/x/events.log backup --image ev=e.img
echo OK
