#!/usr/bin/env bash
# Immutable backups on S3 Object Lock: init --immutable on a bucket
# without Object Lock says so in one line; on a locked bucket every
# object carries a retention, the same credentials cannot delete or
# overwrite a backup's objects (a raw signed request), what an attacker
# puts over them or hides behind delete markers does not change what
# restore reads, a reused chunk's retention is extended by the next
# backup, and prune and gc keep what the lock keeps and say so.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires python3
requires openssl
start_ceph
cd "$scratch"
export VMBACKUP_S3_ENDPOINT=$s3_endpoint
export XDG_CACHE_HOME=$scratch/cache

# The HTTP status of a signed request (no failure on an error status).
s3_status ()
{
  local method=$1 path=$2
  shift 2
  curl -sS -o "$scratch/s3.body" -w '%{http_code}' -X "$method" \
    --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    "$@" "$s3_endpoint$path"
}

# "VERSIONID" of each real version of KEY (oldest last), from the bucket
# "locked".
versions_of ()
{
  s3 GET "/locked?prefix=${1//\//%2F}&versions=" | python3 -c '
import sys, xml.etree.ElementTree as E
ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
for v in E.parse(sys.stdin).getroot().iter(ns + "Version"):
    if v.find(ns + "Key").text == sys.argv[1]:
        print(v.find(ns + "VersionId").text)' "$1"
}

# The retain-until date of KEY's version VERSION.
retain_until ()
{
  s3 HEAD "/locked/$1?versionId=$2" -I |
    tr -d '\r' | awk -F': ' 'tolower($1) == "x-amz-object-lock-retain-until-date" {print $2}'
}

# A bucket without Object Lock: one clear line, nothing written.
s3 PUT /plain > /dev/null || fail "cannot create bucket plain"
expect_fail 1 "the bucket has no Object Lock" \
  vmb --repo s3://plain/r init --immutable 1
[ "$(wc -l < "$scratch/err")" = 1 ] || fail "more than one line: $(cat "$scratch/err")"
s3 GET "/plain?list-type=2" | grep -q "<Key>" && fail "init wrote into plain"
expect_fail 1 "not an s3:// repository" vmb --repo "$scratch/local" init --immutable 1

# init makes the bucket with Object Lock (and so versioning).
export VMBACKUP_REPO=s3://locked/r
vmb init --immutable 1 > init.out || fail "init --immutable: $(cat init.out)"
grep -q "immutable: every object kept 1 day (Object Lock, compliance mode)" init.out ||
  fail "init: $(cat init.out)"
s3 GET "/locked?object-lock=" | grep -q "<ObjectLockEnabled>Enabled" ||
  fail "bucket without Object Lock"
s3 GET "/locked?versioning=" | grep -q "<Status>Enabled" ||
  fail "bucket without versioning"

truncate -s 16M disk.img
put_random disk.img 1 4
vmb backup --image disk=$scratch/disk.img > b1.out || fail "backup: $(cat b1.out)"
id1=$(last_id disk)
cp disk.img disk-v1.img

# Every object vmbackup keeps has a retention of about a day, COMPLIANCE.
s3 GET "/locked?list-type=2&prefix=r%2F" | grep -o '<Key>[^<]*' | cut -c6- > keys
grep -q '^r/chunks/' keys && grep -q '^r/backups/' keys && grep -q '^r/indexes/' keys &&
  grep -q '^r/config$' keys && grep -q '^r/keys/' keys && grep -q '^r/object-lock$' keys ||
  fail "objects: $(cat keys)"
now=$(date +%s)
for k in $(grep -v '^r/locks/\|^r/reserved/' keys); do
  v=$(versions_of "$k" | tail -1)
  until=$(retain_until "$k" "$v")
  [ -n "$until" ] || fail "$k has no retention"
  t=$(date -d "$until" +%s)
  [ "$t" -gt $((now + 86000)) ] && [ "$t" -lt $((now + 86400 + 600)) ] ||
    fail "$k is kept until $until"
  s3 HEAD "/locked/$k?versionId=$v" -I | grep -qi "x-amz-object-lock-mode: COMPLIANCE" ||
    fail "$k is not in compliance mode"
done

# The attacker, with the same credentials: deleting a version is refused.
chunk=$(grep '^r/chunks/' keys | head -1)
manifest=$(grep '^r/backups/' keys | head -1)
for k in "$chunk" "$manifest" r/config; do
  v=$(versions_of "$k" | tail -1)
  code=$(s3_status DELETE "/locked/$k?versionId=$v")
  [ "$code" = 403 ] || fail "DELETE $k version $v: HTTP $code, not 403"
  [ -n "$(versions_of "$k")" ] || fail "$k is gone"
done
# A plain delete only hides the manifest behind a delete marker, and a
# PUT over a chunk, the config and a key slot makes a new version with
# other bytes: vmbackup reads the versions it stored.
for k in "$manifest" r/object-lock; do
  code=$(s3_status DELETE "/locked/$k")
  [ "$code" = 204 ] || fail "plain DELETE of $k: HTTP $code"
done
s3 GET "/locked/$manifest" > /dev/null 2>&1 && fail "the delete marker did not hide it"
keyslot=$(grep '^r/keys/' keys | head -1)
for k in "$chunk" r/config "$keyslot"; do
  head -c 1000 /dev/urandom > forged
  code=$(s3_status PUT "/locked/$k" --data-binary @forged)
  [ "$code" = 200 ] || fail "overwrite of $k: HTTP $code"
  [ "$(versions_of "$k" | wc -l)" = 2 ] || fail "$k: no second version"
done
vmb list disk | grep -q "$id1" || fail "the hidden backup is not listed"
vmb verify "$id1" > v.out 2>&1 || fail "verify after the attack: $(cat v.out)"
vmb restore "$id1" --to r1.img > /dev/null || fail "restore after the attack"
cmp disk-v1.img r1.img || fail "restore after the attack differs"

# A second backup reuses the chunks: their retention moves on.
old=$(retain_until "$chunk" "$(versions_of "$chunk" | tail -1)")
sleep 2
put_random disk.img 8 1
vmb backup --image disk=$scratch/disk.img > b2.out || fail "backup 2: $(cat b2.out)"
id2=$(last_id disk)
new=$(retain_until "$chunk" "$(versions_of "$chunk" | tail -1)")
[ "$(date -d "$new" +%s)" -gt "$(date -d "$old" +%s)" ] ||
  fail "reused chunk $chunk: retention $old, after the second backup $new"

# prune cannot remove the first backup: it says so and goes on; gc keeps
# what the lock keeps; both backups still restore.
vmb prune --keep-last 1 > p.out || fail "prune: $(cat p.out)"
grep -q "^locked $id1 (Object Lock retention has not ended)" p.out ||
  fail "prune: $(cat p.out)"
grep -q "^keep   $id2" p.out || fail "prune: $(cat p.out)"
vmb list disk | grep -q "$id1" || fail "prune removed a locked backup"
# An unreferenced chunk under a lock (what a killed backup leaves, here
# planted by hand, with the Content-MD5 AWS wants with a retention).
head -c 5000 /dev/urandom > planted
zero=$(printf '0%.0s' $(seq 64))
until_date=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
s3 PUT "/locked/r/chunks/00/$zero" --data-binary @planted \
  -H "Content-MD5: $(openssl md5 -binary planted | base64)" \
  -H "x-amz-object-lock-mode: COMPLIANCE" \
  -H "x-amz-object-lock-retain-until-date: $until_date" > /dev/null ||
  fail "locked PUT with Content-MD5"
vmb gc > g.out 2>&1 || fail "gc: $(cat g.out)"
grep -q "gc: kept 1 unreferenced chunks whose Object Lock retention has not ended" g.out ||
  fail "gc did not say what it kept: $(cat g.out)"
[ -n "$(versions_of "r/chunks/00/$zero")" ] || fail "gc deleted a locked chunk"
vmb events --json > ev.json
python3 - "$id1" ev.json <<'PY' || fail "events: $(cat ev.json)"
import json, sys
ev = json.load(open(sys.argv[2]))
assert any(e["id"] == 4200 and e["backup"] == sys.argv[1] for e in ev), ev
assert any(e["id"] == 4201 and "1 unreferenced chunks" in e["message"] for e in ev), ev
PY
vmb restore "$id1" --to r1c.img > /dev/null || fail "restore 1 after prune and gc"
cmp disk-v1.img r1c.img || fail "restore 1 after prune and gc differs"
vmb restore "$id2" --to r2c.img > /dev/null || fail "restore 2 after prune and gc"
cmp disk.img r2c.img || fail "restore 2 after prune and gc differs"

# Governance mode is recorded too (and needs no new bucket).
vmb --repo s3://locked/g init --immutable 2 --immutable-mode governance > g-init.out ||
  fail "init governance: $(cat g-init.out)"
grep -q "kept 2 days (Object Lock, governance mode)" g-init.out || fail "$(cat g-init.out)"
v=$(versions_of g/config | tail -1)
s3 HEAD "/locked/g/config?versionId=$v" -I | grep -qi "x-amz-object-lock-mode: GOVERNANCE" ||
  fail "governance mode not set"
echo ok
