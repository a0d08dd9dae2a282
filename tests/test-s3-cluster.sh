#!/usr/bin/env bash
# The test Ceph cluster (tests/functions-ceph.sh) starts from Debian's
# packages, its radosgw answers signed S3 requests with the semantics the
# S3 repository backend relies on (put-if-absent, list by prefix, delete,
# Object Lock refusing a delete), survives a radosgw restart, and every
# daemon is gone after the test.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"

start=$(date +%s.%N)
start_ceph
echo "cluster up in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"

s3 PUT /plain >/dev/null || fail "cannot create a bucket"
echo hello > "$scratch/obj"
s3 PUT /plain/chunks/ab/one -H 'If-None-Match: *' -T "$scratch/obj" \
  >/dev/null || fail "put-if-absent of a new object failed"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
  --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -H 'If-None-Match: *' \
  -T "$scratch/obj" "$s3_endpoint/plain/chunks/ab/one")
[ "$code" = 412 ] || fail "a second put-if-absent answered $code, not 412"
[ "$(s3 GET /plain/chunks/ab/one)" = hello ] || fail "object reads back wrong"
s3 GET '/plain?list-type=2&prefix=chunks%2F' | grep -q '<Key>chunks/ab/one</Key>' ||
  fail "list by prefix does not name the object"

# The body's SHA-256 as the signed payload hash (what the backend sends
# on a PUT): radosgw checks it, and a body that does not match it is
# refused, not stored.
raw_put () { # KEY HASH FILE: the HTTP status
  curl -s -o /dev/null -w '%{http_code}' -X PUT \
    --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: $2" -T "$3" "$s3_endpoint/plain/$1"
}
good=$(sha256sum "$scratch/obj" | cut -d' ' -f1)
bad=$(echo other | sha256sum | cut -d' ' -f1)
[ "$(raw_put hashed/good "$good" "$scratch/obj")" = 200 ] || fail "a PUT with its payload hash refused"
[ "$(s3 GET /plain/hashed/good)" = hello ] || fail "the hashed PUT reads back wrong"
code=$(raw_put hashed/bad "$bad" "$scratch/obj")
[ "${code:0:1}" = 4 ] || fail "a body that does not match its payload hash answered $code"
s3 GET '/plain?list-type=2&prefix=hashed%2F' | grep -q '<Key>hashed/bad</Key>' &&
  fail "a body that does not match its payload hash was stored"
s3 DELETE /plain/hashed/good >/dev/null || fail "delete of hashed/good failed"

# Without x-amz-content-sha256, radosgw refuses curl's signature.
code=$(curl -s -o /dev/null -w '%{http_code}' \
  --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  "$s3_endpoint/plain/chunks/ab/one")
[ "$code" = 403 ] || echo "note: unsigned-payload header not required here ($code)"

# Object Lock: a locked object version cannot be deleted, even by its owner.
s3 PUT /locked -H 'x-amz-bucket-object-lock-enabled: true' >/dev/null ||
  fail "cannot create an Object Lock bucket"
until=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
out=$(s3 PUT /locked/manifest -T "$scratch/obj" -D - \
  -H 'x-amz-object-lock-mode: COMPLIANCE' \
  -H "x-amz-object-lock-retain-until-date: $until" \
  -H "Content-MD5: $(openssl dgst -md5 -binary "$scratch/obj" | base64)") ||
  fail "locked put failed: $out"
version=$(printf '%s' "$out" | tr -d '\r' | awk 'tolower($1)=="x-amz-version-id:" {print $2}')
[ -n "$version" ] || fail "no version id for a locked object"
if s3 DELETE "/locked/manifest?versionId=$version" >/dev/null 2>&1; then
  fail "a COMPLIANCE-locked version was deleted"
fi
[ "$(s3 GET "/locked/manifest?versionId=$version")" = hello ] ||
  fail "the locked version is gone"

# radosgw killed and started again: the data is still there.
stop_rgw
! curl -s -o /dev/null "$s3_endpoint/" || fail "radosgw still answers"
start_rgw
[ "$(s3 GET /plain/chunks/ab/one)" = hello ] || fail "object lost over a restart"
s3 DELETE /plain/chunks/ab/one >/dev/null || fail "delete failed"
s3 GET '/plain?list-type=2' | grep -q '<Key>' && fail "deleted object listed"

pids=$(cat "$ceph_dir"/run/*.pid)
stop_ceph
for p in $pids; do
  ! kill -0 "$p" 2>/dev/null || fail "ceph daemon $p outlived stop_ceph"
done
echo OK
