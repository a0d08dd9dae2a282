#!/usr/bin/env bash
# The S3 client (src/backend/s3/) against a real radosgw: objects go in
# and come back, put-if-absent loses cleanly, listings page past 1000
# keys, Object Lock holds against our own credentials, a radosgw restart
# is ridden out by retries, a dead one is a clear error, and every bad
# configuration is one clear line.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
: "${S3CHECK:=$(dirname "$VMBACKUP")/tests/s3check}"
[ -x "$S3CHECK" ] || fail "s3check not built: $S3CHECK"

start_ceph
export VMBACKUP_S3_ENDPOINT=$s3_endpoint
s3c () { "$S3CHECK" "$@"; }
url=s3://repo/hosts/one

s3c $url mkbucket || fail "cannot create the bucket"
s3c $url mkbucket || fail "creating a bucket we own again is refused"

head -c 3000000 /dev/urandom > "$scratch/big"
s3c $url put chunks/ab/big "$scratch/big" if-absent || fail "put"
s3c $url get chunks/ab/big > "$scratch/big.out" || fail "get"
cmp "$scratch/big" "$scratch/big.out" || fail "object came back different"
[ "$(s3c $url head chunks/ab/big)" = 3000000 ] || fail "head gives the wrong size"
expect_fail 1 'PreconditionFailed.*EEXIST|EEXIST' \
  s3c $url put chunks/ab/big "$scratch/big" if-absent
rc=0; s3c $url head chunks/none >/dev/null || rc=$?
[ $rc = 3 ] || fail "head of a missing object: exit $rc, not 3"
expect_fail 1 'hosts/one/chunks/none: GET: HTTP 404 NoSuchKey.*ENOENT' \
  s3c $url get chunks/none

# Keys are relative to the prefix; a listing pages past 1000 keys.
s3c $url fill idx/ 1003 || fail "fill"
s3c s3://repo/hosts/two put idx/other "$scratch/big" || fail "put in another prefix"
s3c $url list idx/ > "$scratch/list"
[ "$(wc -l < "$scratch/list")" = 1003 ] || fail "listing has $(wc -l < "$scratch/list") keys, not 1003"
[ "$(head -1 "$scratch/list")" = "idx/00000 1" ] || fail "listing starts with $(head -1 "$scratch/list")"
[ "$(tail -1 "$scratch/list")" = "idx/01002 4" ] || fail "listing ends with $(tail -1 "$scratch/list")"
s3c $url delete idx/00000 || fail "delete"
s3c $url delete idx/00000 || fail "deleting a missing object is not an error"
[ "$(s3c $url list idx/ | wc -l)" = 1002 ] || fail "deleted key still listed"

# Object Lock: our own credentials cannot remove a locked backup.
s3c s3://locked mkbucket lock || fail "cannot create an Object Lock bucket"
s3c s3://locked put backups/vm/1 "$scratch/big" lock-days 1 || fail "locked put"
s3c s3://locked delete backups/vm/1 || fail "delete marker refused"
# The version is still there behind the delete marker: the S3 answer
# to "delete" on a versioned bucket.  Overwriting does not remove it.
s3 GET '/locked?prefix=backups%2F&versions=' | grep -q '<IsLatest>false</IsLatest>' ||
  fail "the locked version was removed"

# Bad configuration: one clear line each.
expect_fail 1 'no such bucket.*ENXIO' s3c s3://missing-bucket get x
expect_fail 1 "bad bucket name 'Bad_Bucket'" s3c s3://Bad_Bucket get x
expect_fail 1 'HTTP 403 (InvalidAccessKeyId|AccessDenied|SignatureDoesNotMatch).*EACCES' \
  env AWS_SECRET_ACCESS_KEY=wrong "$S3CHECK" $url get chunks/ab/big
expect_fail 1 'HTTP 403 InvalidAccessKeyId.*EACCES' \
  env AWS_ACCESS_KEY_ID=NOSUCHKEY "$S3CHECK" $url get chunks/ab/big
expect_fail 1 'no S3 credentials' \
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME=$scratch \
  "$S3CHECK" $url get chunks/ab/big
expect_fail 1 'must start with http' \
  env VMBACKUP_S3_ENDPOINT=localhost:1 "$S3CHECK" $url get x
# Credentials from a profile of the shared credentials file.
mkdir -p "$scratch/home/.aws"
printf '[default]\naws_access_key_id = wrong\naws_secret_access_key = x\n[backup]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
  "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$scratch/home/.aws/credentials"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME=$scratch/home \
  AWS_PROFILE=backup "$S3CHECK" $url head chunks/ab/big >/dev/null ||
  fail "credentials from ~/.aws/credentials [backup] not used"

# radosgw restarted while a request waits: retried, it succeeds.
stop_rgw
( sleep 2; start_rgw ) &
restarter=$!
s3c $url get chunks/ab/big > "$scratch/big.out" ||
  fail "a request across a radosgw restart failed"
wait $restarter
cmp "$scratch/big" "$scratch/big.out" || fail "wrong data after restart"
# radosgw gone for good: a clear error after the retries, no hang.
stop_rgw
start=$(date +%s)
expect_fail 1 'GET: Couldn.t connect to server' \
  env VMBACKUP_S3_ATTEMPTS=3 "$S3CHECK" $url get chunks/ab/big
[ $(( $(date +%s) - start )) -lt 20 ] || fail "a dead endpoint took too long to fail"
echo OK
