#!/usr/bin/env bash
# What goes wrong with an S3 repository is one clear line, a non-zero
# exit and no long wait: wrong credentials, a missing bucket, no such
# repository, an endpoint nobody answers on, no credentials, a bad URL;
# and nothing already stored is damaged by any of them.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
start_ceph
cd "$scratch"
export VMBACKUP_S3_ENDPOINT=$s3_endpoint
export VMBACKUP_REPO=s3://vmb/repo
vmb init > /dev/null || fail "init"
truncate -s 8M disk.img
put_random disk.img 1 2
vmb backup --image disk=$scratch/disk.img > /dev/null || fail "backup"

# one_line SECONDS CODE PATTERN CMD...: fails within SECONDS with exit
# CODE and exactly one line on stderr matching PATTERN.
one_line ()
{
  local limit=$1 start
  shift
  start=$(date +%s)
  expect_fail "$@"
  [ "$(wc -l < "$scratch/err")" = 1 ] ||
    fail "more than one line from '${*:3}': $(cat "$scratch/err")"
  [ $(( $(date +%s) - start )) -le "$limit" ] ||
    fail "'${*:3}' took more than $limit s to fail"
}

one_line 20 1 '^vmbackup: s3://vmb/repo/config: GET: HTTP 403 (SignatureDoesNotMatch|AccessDenied)' \
  env AWS_SECRET_ACCESS_KEY=wrong "$VMBACKUP" list
one_line 20 1 '^vmbackup: s3://vmb/repo/config: GET: HTTP 403 InvalidAccessKeyId' \
  env AWS_ACCESS_KEY_ID=NOSUCHKEY "$VMBACKUP" backup --image disk=$scratch/disk.img
one_line 20 1 '^vmbackup: s3://no-such-bucket: no such bucket$' \
  vmb --repo s3://no-such-bucket/x list
one_line 20 1 '^vmbackup: s3://vmb/elsewhere: not a vmbackup repository' \
  vmb --repo s3://vmb/elsewhere verify
one_line 20 1 '^vmbackup: s3://vmb/repo: no S3 credentials' \
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME=$scratch "$VMBACKUP" list
one_line 20 1 "bad bucket name 'No_Bucket'" vmb --repo s3://No_Bucket/x list
one_line 20 1 'S3 endpoint 127.0.0.1:1: must start with http' \
  vmb --s3-endpoint 127.0.0.1:1 list
# Nobody listens: a few quick tries, then one line.
one_line 30 1 "^vmbackup: s3://vmb/repo/config: GET: Couldn.t connect to server" \
  env VMBACKUP_S3_ATTEMPTS=3 "$VMBACKUP" --s3-endpoint http://127.0.0.1:1 list
# A server that accepts and never answers: the request timeout.
python3 -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
time.sleep(120)' > silent.port &
silent=$!
cleanup_fn "kill $silent 2>/dev/null"
for _ in $(seq 50); do [ -s silent.port ] && break; sleep 0.1; done
one_line 30 1 '^vmbackup: s3://vmb/repo/config: GET: Timeout was reached \(no answer from the S3 server\)' \
  env VMBACKUP_S3_ATTEMPTS=1 VMBACKUP_S3_TIMEOUT=3 "$VMBACKUP" \
  --s3-endpoint "http://127.0.0.1:$(cat silent.port)" list

# A clock an hour off: S3 refuses the signature; say what to fix.
if command -v faketime > /dev/null; then
  one_line 20 1 "^vmbackup: s3://vmb/repo/config: GET: this host's clock differs from the S3 server's" \
    faketime -f +1h "$VMBACKUP" list
else
  echo "skipped the clock skew check: faketime is not installed" >&2
fi

# The backup is still there and whole.
vmb restore disk --to out.img > /dev/null || fail "restore after the errors"
cmp disk.img out.img || fail "restore after the errors differs"
echo OK
