#!/usr/bin/env bash
# Keys of an encrypted repository over ssh: init sends the first key
# slot and the server stores it (config version 2); key list, add,
# passwd, remove and export work through a plain 'vmbackup serve'; a
# wrong passphrase is one line.  An append-only serve lets key list and
# unlocking through, but refuses adding and removing key slots, from
# the CLI and from a raw protocol client (tests/vmbproto.py), leaving
# keys/ as it was; it also refuses a slot that does not parse.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
unset VMBACKUP_KEY_FILE  # this test gives each key itself
requires_root "sshd"
here=$(cd "$(dirname "$0")" && pwd)
cd "$scratch"
unset VMBACKUP_PASSWORD VMBACKUP_PASSWORD_FILE VMBACKUP_NEW_PASSWORD
start_sshd
authorize_key
repo=$scratch/repo
url=ssh://root@127.0.0.1:$ssh_port$repo
export VMBACKUP_REPO=$url
keys_state () { (cd "$repo/keys" && sha256sum -- *); }

VMBACKUP_PASSWORD=pw1 vmb init --encryption aes-256-gcm > init.out \
  || fail "init over ssh: $(cat init.out)"
grep -q "^encryption: aes-256-gcm" init.out || fail "init: $(cat init.out)"
head -1 "$repo/config" | grep -qx "vmbackup-repository 2" \
  || fail "config on the server: $(cat "$repo/config")"
[ "$(ls "$repo/keys" | wc -l)" = 1 ] || fail "no key slot on the server"
vmb info --json | grep -q '"encryption": "aes-256-gcm", "key_slots": 1' \
  || fail "info over ssh: $(vmb info --json)"

export VMBACKUP_PASSWORD=pw1
VMBACKUP_NEW_PASSWORD=pw2 vmb key add --label second > add.out \
  || fail "key add over ssh: $(cat add.out)"
vmb key add --new-key-file "$scratch/k1" > /dev/null || fail "add key file"
VMBACKUP_PASSWORD=pw2 vmb key list > list.out || fail "key list over ssh"
[ "$(grep -c . list.out)" = 4 ] || fail "key list: $(cat list.out)"
grep -qE '^\* .* second$' list.out || fail "key list: $(cat list.out)"
s1=$(awk '$NF == "passphrase" {print $(NF-3)}' list.out)
VMBACKUP_PASSWORD=pw2 VMBACKUP_NEW_PASSWORD=pw3 vmb key passwd "$s1" \
  > /dev/null || fail "key passwd over ssh"
expect_fail 1 "wrong passphrase: no key slot of $url opens with it" \
  vmb list
[ "$(wc -l < "$scratch/err")" = 1 ] || fail "not one line: $(cat "$scratch/err")"
VMBACKUP_PASSWORD=pw3 vmb list > /dev/null || fail "pw3 does not open it"
vmb --key-file "$scratch/k1" key export --to "$scratch/master.key" \
  > /dev/null || fail "key export over ssh"
grep -q "^repository $(sed -n 's/^id //p' "$repo/config")$" master.key \
  || fail "export: $(cat master.key)"

# --- an append-only key: unlock and list yes; add and remove no
authorize_key "command=\"$VMBACKUP serve --append-only\",restrict"
keys_state > keys.before
VMBACKUP_PASSWORD=pw3 vmb key list > /dev/null || fail "append-only key list"
VMBACKUP_PASSWORD=pw3 vmb list > /dev/null || fail "append-only unlock"
VMBACKUP_PASSWORD=pw3 VMBACKUP_NEW_PASSWORD=pw4 expect_fail 1 \
  "adding a key slot is refused: the repository is append-only" vmb key add
[ "$(wc -l < "$scratch/err")" = 1 ] || fail "not one line: $(cat "$scratch/err")"
VMBACKUP_PASSWORD=pw3 expect_fail 1 \
  "removing a key slot is refused: the repository is append-only" \
  vmb key remove "$(ls "$repo/keys" | head -1)"
keys_state > keys.after
cmp -s keys.before keys.after || fail "append-only serve changed keys/"

HERE=$here SSH_PORT=$ssh_port python3 - "$repo" <<'PY' || fail "raw protocol checks"
import os, re, shlex, sys
sys.path.insert(0, os.environ["HERE"])
from vmbproto import *

repo = sys.argv[1]
argv = shlex.split(os.environ["VMBACKUP_RSH"]) + [
    "-p", os.environ["SSH_PORT"], "root@127.0.0.1", "vmbackup serve"]

def expect(answer, status, pattern=None):
    st, body = answer
    text = body.decode(errors="replace")
    assert st == status, (st, text)
    if pattern:
        assert re.search(pattern, text), text
    return body

p = Proto(argv)
body = expect(p.call(OPEN, open_payload(repo)), OK)
assert body[-4:] == u32(1), body  # the cipher follows the flags
slots = sorted(os.listdir(os.path.join(repo, "keys")))
listed = expect(p.call(KEY_LIST), OK)
assert listed[:4] == u32(len(slots)), listed
assert sorted(re.findall(rb"[0-9a-f]{16}", listed)) == [s.encode() for s in slots]
text = expect(p.call(KEY_GET, string(slots[0])), OK)
assert text == open(os.path.join(repo, "keys", slots[0]), "rb").read()
new = text.replace(slots[0].encode(), b"0123456789abcdef")
expect(p.call(KEY_PUT, string("0123456789abcdef") + new), ERROR,
       "adding a key slot is refused: the repository is append-only")
expect(p.call(KEY_DELETE, string(slots[0])), ERROR,
       "removing a key slot is refused: the repository is append-only")
expect(p.call(KEY_GET, string("../config.xxxxxx")), ERROR, "malformed")
assert p.close() == 0
assert sorted(os.listdir(os.path.join(repo, "keys"))) == slots
PY

# --- a plain serve takes KEY_PUT, but only a slot that parses under its
# own name, and never deletes the last slot
authorize_key
HERE=$here SSH_PORT=$ssh_port python3 - "$repo" <<'PY' || fail "raw protocol checks (plain serve)"
import os, re, shlex, sys
sys.path.insert(0, os.environ["HERE"])
from vmbproto import *

repo = sys.argv[1]
argv = shlex.split(os.environ["VMBACKUP_RSH"]) + [
    "-p", os.environ["SSH_PORT"], "root@127.0.0.1",
    os.environ["VMBACKUP"] + " serve"]
p = Proto(argv)
assert p.call(OPEN, open_payload(repo))[0] == OK
slots = sorted(os.listdir(os.path.join(repo, "keys")))
st, text = p.call(KEY_GET, string(slots[0]))
assert st == OK
st, body = p.call(KEY_PUT, string("0123456789abcdef") + text)
assert st == ERROR and b"names slot" in body, body
st, body = p.call(KEY_PUT, string("0123456789abcdef") + b"garbage\n")
assert st == ERROR, body
st, body = p.call(KEY_PUT, string(slots[0]) + text)
assert st == ERROR and b"exists" in body, body
assert p.close() == 0
assert sorted(os.listdir(os.path.join(repo, "keys"))) == slots
PY
echo OK
