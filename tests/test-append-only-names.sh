#!/usr/bin/env bash
# Issue 12, finding 2 (names): a key whose forced command is
#   vmbackup serve --append-only --restrict-to-names 'web*'
# lists, reads, verifies and writes only backups named web*: another
# host's db1 is not listed, cannot be restored or verified through it
# (it does not exist, as far as the key can tell), and a backup under
# the name db1 is refused, so the key cannot crowd db1 out of prune.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
requires_root "sshd"
cd "$scratch"
start_append_only "--restrict-to-names 'web*'"

mkdir src
seq 50000 > src/numbers
VMBACKUP_REPO=$local_repo vmb files backup --name db1 src >/dev/null ||
  fail "local backup of db1"
db=$(VMBACKUP_REPO=$local_repo last_id db1)
vmb files backup --name web1 src > b.out || fail "backup of web1: $(cat b.out)"
web=$(last_id web1)

vmb list > list.out || fail "list: $(cat list.out)"
grep -q "^$web " list.out || fail "web1 not listed: $(cat list.out)"
grep -q db1 list.out && fail "db1 listed through a web* key: $(cat list.out)"
expect_fail 1 "backup name db1 is not allowed for this key" \
  vmb files backup --name db1 src
expect_fail 1 "no backup $db" vmb files restore "$db" --to restored-db
expect_fail 1 "no backup named db1" vmb files restore db1 --to restored-db
[ -z "$(ls -A restored-db 2>/dev/null)" ] || fail "something of db1 was restored"
rc=0; vmb verify db1 > v.out 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "no backup" v.out || fail "verify db1: $(cat v.out)"
vmb verify > v.out || fail "verify: $(cat v.out)"
grep -q "verified 1 backup" v.out || fail "verify saw more than web*: $(cat v.out)"

raw_client "$local_repo" "$db" <<'PY' || fail "raw protocol checks"
import sys
from vmbproto import *

repo, db = sys.argv[1], sys.argv[2]
p = Proto.open_repo(repo)
p.expect(MANIFEST_GET, string(db), ERROR, "no backup " + db)
p.expect(RESERVE, string("db1") + u64(0), ERROR, "not allowed for this key")
p.expect(RESERVE, string("web-other") + u64(0), ERROR, "300 seconds")
answer = p.expect(LIST, string("db1") + string(""), OK)
assert answer[:4] == u32(0), answer
p.expect(VERIFY, db.encode(), OK)
assert p.lines and "no backup" in p.lines[0], p.lines
assert p.close() == 0
PY
[ "$(VMBACKUP_REPO=$local_repo vmb list db1 | wc -l)" = 2 ] || fail "db1 changed"
echo OK
