#!/usr/bin/env bash
# Keys of an encrypted repository, as a user meets them: init with a
# passphrase and with a key file; a wrong passphrase is one line and
# changes nothing; key add, list, remove (never the last), passwd;
# export, every slot lost, and the export opens the repository; a key
# file of another repository and a key given for a repository in the
# clear are refused; a config rewritten from version 2 to 1 is refused
# because key slots exist; the passphrase prompt on a terminal does not
# echo.  (Over ssh: test-encryption-keys-remote.sh.)
source "$(dirname "$0")/functions.sh"
unset VMBACKUP_KEY_FILE  # this test gives each key itself
requires python3
requires setsid
cd "$scratch"
unset VMBACKUP_PASSWORD VMBACKUP_PASSWORD_FILE VMBACKUP_NEW_PASSWORD
A=$scratch/a

# The key slots' names and contents, to prove nothing changed.
keys_state () { (cd "$1/keys" && sha256sum -- * 2>/dev/null || true); }
one_line () { [ "$(wc -l < "$scratch/err")" = 1 ] \
  || fail "more than one line: $(cat "$scratch/err")"; }
slot_of () { awk -v l="$2" '$NF == l {print $(NF-3)}' "$1"; }

# --- init with $VMBACKUP_PASSWORD
VMBACKUP_PASSWORD=pw1 vmb --repo "$A" init --encryption aes-256-gcm \
  > init.out || fail "init: $(cat init.out)"
grep -q "^encryption: aes-256-gcm" init.out || fail "init: $(cat init.out)"
head -1 "$A/config" | grep -qx "vmbackup-repository 2" || fail "config v2"
grep -qx "encryption aes-256-gcm" "$A/config" || fail "config: no cipher"
[ "$(ls "$A/keys" | wc -l)" = 1 ] || fail "init made $(ls "$A/keys")"
vmb --repo "$A" info --json > info.json
python3 - info.json <<'PY' || fail "info --json: $(cat info.json)"
import json, sys
i = json.load(open(sys.argv[1]))
assert i["format"] == 2 and i["encryption"] == "aes-256-gcm", i
assert i["key_slots"] == 1 and len(i["id"]) == 32, i
PY
vmb --repo "$A" info | grep -qE "^encryption +aes-256-gcm$" || fail "info"

# --- encrypted is the default: without a key, init says where one
# comes from and makes nothing; with one, it encrypts
expect_fail 1 "no key for the new encrypted repository .*/dflt: give --key-file PATH, \\\$VMBACKUP_KEY_FILE" \
  setsid -w "$VMBACKUP" --repo "$scratch/dflt" init
[ ! -e "$scratch/dflt/config" ] || fail "init without a key made a repository"
VMBACKUP_KEY_FILE=$scratch/dflt.key vmb --repo "$scratch/dflt" init > dflt.out \
  || fail "default init with a key file: $(cat dflt.out)"
grep -qE "^encryption: (aes-256-gcm|chacha20-poly1305) \(first key slot: key file\)" \
  dflt.out || fail "default init: $(cat dflt.out)"
head -1 "$scratch/dflt/config" | grep -qx "vmbackup-repository 2" \
  || fail "the default repository is not encrypted"

# --- a repository in the clear, asked for, stays version 1
vmb --repo "$scratch/plain" init --encryption none > plain.out
grep -q "^encryption: none" plain.out || fail "init none: $(cat plain.out)"
head -1 "$scratch/plain/config" | grep -qx "vmbackup-repository 1" \
  || fail "a repository in the clear is not version 1"
vmb --repo "$scratch/plain" info --json | grep -q '"encryption": "none"' \
  || fail "info of a repository in the clear"

# --- a wrong passphrase: one line, nothing changed
keys_state "$A" > keys.before
VMBACKUP_PASSWORD=wrong expect_fail 1 \
  "^vmbackup: wrong passphrase: no key slot of $A opens with it$" \
  vmb --repo "$A" list
one_line
VMBACKUP_PASSWORD=wrong expect_fail 1 "wrong passphrase" \
  vmb --repo "$A" key add
keys_state "$A" > keys.after
cmp -s keys.before keys.after || fail "a wrong passphrase changed keys/"
VMBACKUP_PASSWORD=pw1 vmb --repo "$A" list > /dev/null \
  || fail "the right passphrase does not open it"

# --- no source and no terminal: one line naming the sources
expect_fail 1 "no key was given: give --key-file PATH, \\\$VMBACKUP_KEY_FILE, \\\$VMBACKUP_PASSWORD_FILE or \\\$VMBACKUP_PASSWORD" \
  setsid -w "$VMBACKUP" --repo "$A" list < /dev/null
one_line
# ... and commands that need no key do not ask
vmb --repo "$A" gc > /dev/null || fail "gc asked for a key"

# --- $VMBACKUP_PASSWORD_FILE: the first line
printf 'pw1\nsecond line\n' > pwfile
VMBACKUP_PASSWORD_FILE=$scratch/pwfile vmb --repo "$A" list > /dev/null \
  || fail "VMBACKUP_PASSWORD_FILE"

# --- key add (passphrase, key file), list
export VMBACKUP_PASSWORD=pw1
VMBACKUP_NEW_PASSWORD=pw2 vmb --repo "$A" key add --label second > add.out \
  || fail "key add: $(cat add.out)"
vmb --repo "$A" key add --new-key-file "$scratch/k1" --label kf > addk.out \
  || fail "key add --new-key-file: $(cat addk.out)"
[ "$(stat -c %a k1)" = 600 ] || fail "key file mode $(stat -c %a k1)"
head -1 k1 | grep -qx "vmbackup-key-file 1" || fail "key file: $(head -1 k1)"
expect_fail 1 "k1: File exists" \
  vmb --repo "$A" key add --new-key-file "$scratch/k1"
VMBACKUP_PASSWORD=pw2 vmb --repo "$A" key list > list.out
[ "$(grep -c . list.out)" = 4 ] || fail "key list: $(cat list.out)"
grep -qE '^\* [0-9a-f]{16}  passphrase  .* second$' list.out \
  || fail "key list does not mark pw2's slot: $(cat list.out)"
grep -qE '^  [0-9a-f]{16}  key-file  .* kf$' list.out \
  || fail "key list: $(cat list.out)"
unset VMBACKUP_PASSWORD
vmb --key-file "$scratch/k1" --repo "$A" key list > listk.out \
  || fail "the key file does not open it: $(cat listk.out)"
grep -qE '^\* .* kf$' listk.out || fail "key list: $(cat listk.out)"
s1=$(slot_of list.out passphrase)
s2=$(slot_of list.out second)

# --- remove, passwd
VMBACKUP_PASSWORD=pw2 vmb --repo "$A" key remove "$s1" > rm.out \
  || fail "key remove: $(cat rm.out)"
VMBACKUP_PASSWORD=pw1 expect_fail 1 "wrong passphrase" \
  vmb --repo "$A" key list
VMBACKUP_PASSWORD=pw2 VMBACKUP_NEW_PASSWORD=pw3 \
  vmb --repo "$A" key passwd "$s2" > passwd.out \
  || fail "key passwd: $(cat passwd.out)"
VMBACKUP_PASSWORD=pw2 expect_fail 1 "wrong passphrase" vmb --repo "$A" list
VMBACKUP_PASSWORD=pw3 vmb --repo "$A" key list > list3.out
[ "$(grep -c . list3.out)" = 3 ] || fail "after passwd: $(cat list3.out)"
grep -qE '^\* .* second$' list3.out \
  || fail "passwd did not keep the label: $(cat list3.out)"

# --- the last slot is never removed
VMBACKUP_PASSWORD=q vmb --repo "$scratch/one" init \
  --encryption chacha20-poly1305 > /dev/null
vmb --repo "$scratch/one" info | grep -qE "^encryption +chacha20-poly1305$" \
  || fail "chacha20-poly1305"
last=$(ls "$scratch/one/keys")
VMBACKUP_PASSWORD=q expect_fail 1 "key slot $last is the last of" \
  vmb --repo "$scratch/one" key remove "$last"
[ -f "$scratch/one/keys/$last" ] || fail "the last slot was removed"

# --- export; every slot lost; the export opens the repository
VMBACKUP_PASSWORD=pw3 vmb --repo "$A" key export > export.out
sed -n 1p export.out | grep -qx "vmbackup-master-key 1" || fail "export"
grep -qx "repository $(sed -n 's/^id //p' "$A/config")" export.out \
  || fail "export: no repository ID: $(cat export.out)"
grep -qE "^key [0-9a-f]{64}$" export.out || fail "export: no key"
grep -qE "^check [0-9a-f]{8}$" export.out || fail "export: no check"
VMBACKUP_PASSWORD=pw3 vmb --repo "$A" key export --to "$scratch/master.key" \
  > /dev/null
[ "$(stat -c %a master.key)" = 600 ] || fail "export mode"
cmp -s export.out master.key || fail "export --to differs from stdout"
VMBACKUP_PASSWORD=pw3 expect_fail 1 "File exists" \
  vmb --repo "$A" key export --to "$scratch/master.key"
rm "$A"/keys/*
VMBACKUP_PASSWORD=pw3 expect_fail 1 "opens with it \\(it has no passphrase slot\\)" \
  vmb --repo "$A" list
vmb --key-file "$scratch/master.key" --repo "$A" list > /dev/null \
  || fail "the exported master key does not open it"
VMBACKUP_NEW_PASSWORD=pw4 vmb --key-file "$scratch/master.key" --repo "$A" \
  key add > /dev/null || fail "key add with the exported master key"
VMBACKUP_PASSWORD=pw4 vmb --repo "$A" list > /dev/null \
  || fail "the slot added from the export does not open it"
# a typo in the export is caught by its check line
sed 's/^key \(.\)/key f\1/; s/^key f\(.\)\(.*\).$/key f\2/' master.key > typo.key
sed -i "s/^key .*/key $(sed -n 's/^key //p' master.key | tr 0-9a-f 1-9a-f0 )/" typo.key
expect_fail 1 "check [0-9a-f]+ does not match" \
  vmb --key-file "$scratch/typo.key" --repo "$A" list

# --- init with a key file (created), and keys of another repository
vmb --key-file "$scratch/kb" --repo "$scratch/b" init \
  --encryption aes-256-gcm --key-label bkey > initb.out \
  || fail "init --key-file: $(cat initb.out)"
grep -q "created key file $scratch/kb" initb.out || fail "$(cat initb.out)"
[ "$(stat -c %a kb)" = 600 ] || fail "key file mode"
vmb --key-file "$scratch/kb" --repo "$scratch/b" key list | grep -q ' bkey$' \
  || fail "key list of b"
VMBACKUP_PASSWORD=pw4 vmb --repo "$A" key add --new-key-file "$scratch/k2" \
  > /dev/null
keys_state "$A" > keys.before
expect_fail 1 "^vmbackup: wrong key file: no key slot of $A opens with it$" \
  vmb --key-file "$scratch/kb" --repo "$A" list
one_line
expect_fail 1 "exported master key is repository [0-9a-f]{32}'s, not" \
  vmb --key-file "$scratch/master.key" --repo "$scratch/b" list
keys_state "$A" > keys.after
cmp -s keys.before keys.after || fail "a foreign key changed keys/"

# --- a key given for a repository in the clear is refused
VMBACKUP_PASSWORD=x expect_fail 1 \
  "repository $scratch/plain is not encrypted; no key is needed" \
  vmb --repo "$scratch/plain" list
one_line
expect_fail 1 "is not encrypted; no key is needed" \
  vmb --key-file "$scratch/kb" --repo "$scratch/plain" list
VMBACKUP_PASSWORD=x expect_fail 1 "would not be encrypted, yet a key" \
  vmb --repo "$scratch/plain2" init --encryption none
vmb --repo "$scratch/plain" list > /dev/null || fail "plain list"

# --- a config rewritten from version 2 to 1 (checksum recomputed)
python3 - "$scratch/b/config" <<'PY'
import hashlib, sys
lines = open(sys.argv[1]).read().splitlines(True)
body = "".join(l for l in lines if not l.startswith(("encryption ", "checksum ")))
body = body.replace("vmbackup-repository 2", "vmbackup-repository 1")
open(sys.argv[1], "w").write(body + "checksum %s\n" % hashlib.sha256(body.encode()).hexdigest())
PY
grep -q encryption "$scratch/b/config" && fail "config still names a cipher"
expect_fail 1 "the config says the repository is not encrypted, but it has key slots" \
  vmb --repo "$scratch/b" list
one_line
expect_fail 1 "has key slots" vmb --repo "$scratch/b" gc
expect_fail 1 "has key slots" vmb --repo "$scratch/b" info

# --- the prompt on a terminal: read from /dev/tty, never echoed
python3 - "$VMBACKUP" "$A" "$scratch/c" <<'PY' || fail "prompt"
import os, pty, sys, termios, time
vmb, repo, new = sys.argv[1:4]
env = {k: v for k, v in os.environ.items() if not k.startswith("VMBACKUP_PASSWORD")}

def run(argv, answers):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(vmb, [vmb] + argv, env)
    out = b""
    pos = 0  # each prompt is looked for after the one answered before
    for prompt, answer in answers:
        while prompt not in out[pos:]:
            try:
                b = os.read(fd, 1024)
            except OSError:
                b = b""
            if not b:
                raise SystemExit("no prompt %r: %r" % (prompt, out))
            out += b
        pos = out.index(prompt, pos) + len(prompt)
        time.sleep(0.2)  # let it turn echo off; the answer must not show
        os.write(fd, answer + (b"" if answer == b"\x03" else b"\n"))
    while True:
        try:
            b = os.read(fd, 1024)
        except OSError:
            break
        if not b:
            break
        out += b
    # The terminal is as it was: echo back on, whichever way we left.
    assert termios.tcgetattr(fd)[3] & termios.ECHO, "echo left off"
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")

rc, out = run(["--repo", repo, "list"],
              [(b"Passphrase for " + repo.encode() + b": ", b"pw4")])
assert rc == 0, out
assert "pw4" not in out, "echoed: %r" % out
rc, out = run(["--repo", repo, "key", "add", "--label", "typed"],
              [(b"Passphrase for", b"pw4"), (b"New passphrase: ", b"pw5"),
               (b"Repeat the new passphrase: ", b"pw5")])
assert rc == 0 and "added key slot" in out, out
assert "pw4" not in out and "pw5" not in out, "echoed: %r" % out
# A mistyped passphrase is asked again, three tries in all.
rc, out = run(["--repo", repo, "list"], [(b"Passphrase for", b"wrong")] * 3)
assert rc == 1 and "wrong passphrase" in out, out
assert out.count("Passphrase for") == 3 and "try again" in out, out
rc, out = run(["--repo", repo, "list"],
              [(b"Passphrase for", b"wrong"), (b"Passphrase for", b"pw4")])
assert rc == 0 and out.count("try again") == 1, out
rc, out = run(["--repo", repo, "list"], [(b"Passphrase for", b"\x03")])
assert rc == -2, (rc, out)  # killed by the SIGINT of ^C, echo restored
rc, out = run(["--repo", new, "init", "--encryption", "aes-256-gcm"],
              [(b"New passphrase for", b"typed-twice"),
               (b"Repeat the passphrase: ", b"typed-twice")])
assert rc == 0 and "typed-twice" not in out, out
assert "encryption: aes-256-gcm" in out, out
rc, out = run(["--repo", new + "2", "init", "--encryption", "aes-256-gcm"],
              [(b"New passphrase for", b"one"), (b"Repeat", b"other")])
assert rc == 1 and "the passphrases do not match" in out, out
assert not os.path.exists(new + "2/config"), "made a repository anyway"
PY
VMBACKUP_PASSWORD=typed-twice vmb --repo "$scratch/c" list > /dev/null \
  || fail "the passphrase typed at init does not open it"
VMBACKUP_PASSWORD=pw5 vmb --repo "$A" key list | grep -qE '^\* .* typed$' \
  || fail "the passphrase typed at key add does not open it"
echo OK
