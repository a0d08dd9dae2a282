#!/usr/bin/env bash
# An S3 repository over https, on a radosgw whose certificate a private
# CA signed (a site's own Ceph): refused, in one line that says where
# the CA's certificate goes, until $AWS_CA_BUNDLE names it; then init,
# backup, list, restore (byte-identical) and verify work over TLS.  A
# certificate for another name, and a CA file that is not there, are
# one line each.  The AWS CLI's config file (the profile's endpoint_url
# and ca_bundle) and credentials file are enough, as for the AWS tools,
# in the AWS tools' order of precedence.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires qemu-nbd
CEPH_TLS=1 start_ceph_repo s3://vmb/tls
# shellcheck disable=SC2154  # set by start_ceph
export VMBACKUP_S3_ENDPOINT=$s3_tls_endpoint
unset AWS_CA_BUNDLE

# one_line CODE PATTERN CMD...: fails with exit CODE and one line.
one_line ()
{
  expect_fail "$@"
  [ "$(wc -l < "$scratch/err")" = 1 ] ||
    fail "more than one line from '${*:3}': $(cat "$scratch/err")"
}

# The system's CAs do not know the site's own.
one_line 1 "^vmbackup: s3://vmb/[^ ]*: GET: SSL certificate problem: .* \(a private CA's certificate goes in \\\$AWS_CA_BUNDLE or the AWS config's ca_bundle\)$" \
  vmb init
AWS_CA_BUNDLE=$scratch/no-such-ca.crt one_line 1 \
  "^vmbackup: \\\$AWS_CA_BUNDLE $scratch/no-such-ca.crt: No such file or directory$" vmb init

# shellcheck disable=SC2154  # set by start_ceph
export AWS_CA_BUNDLE=$s3_tls_ca
vmb init --chunk-size 256K > /dev/null || fail "init over https"
head -c 6M /dev/urandom > disk.img
head -c 2M /dev/zero >> disk.img
head -c 3M /dev/urandom | base64 -w 0 >> disk.img
vmb backup --image disk=$scratch/disk.img > b1.out || fail "backup over https: $(cat b1.out)"
id=$(last_id disk)
vmb list disk > list.out || fail "list over https"
grep -q "^$id " list.out || fail "list over https: $(cat list.out)"
vmb restore "$id" --to out.img > /dev/null || fail "restore over https"
cmp disk.img out.img || fail "the restore over https differs"
vmb verify > verify.out || fail "verify over https: $(cat verify.out)"

# The certificate names 127.0.0.1, not localhost.
VMBACKUP_S3_ENDPOINT=${s3_tls_endpoint/127.0.0.1/localhost} one_line 1 \
  "^vmbackup: s3://vmb/[^ ]*: GET: .*(localhost|host name).* \(a private CA's certificate goes in \\\$AWS_CA_BUNDLE or the AWS config's ca_bundle\)$" \
  vmb list

# Over http (the same radosgw), the repository is the same one.
VMBACKUP_S3_ENDPOINT=$s3_endpoint vmb list disk > list.out || fail "list over http"
grep -q "^$id " list.out ||
  fail "the repository written over https does not list over http: $(cat list.out)"

# The AWS CLI's own files, as a site that already uses it has them: the
# profile's endpoint_url and ca_bundle in ~/.aws/config, its keys in
# ~/.aws/credentials; nothing in the environment.  What would not work
# is put where it must not be read: in [default], and in the settings
# nested under "s3 =" (the CLI's per-service ones), before the
# profile's own.
nowhere=http://127.0.0.1:1
mkdir -p home/.aws
cat > home/.aws/config <<END
[default]
endpoint_url = $nowhere
[profile site]
s3 =
  endpoint_url = $nowhere
  ca_bundle = $scratch/gone.crt
region = $AWS_DEFAULT_REGION
endpoint_url = $s3_tls_endpoint
ca_bundle = $s3_tls_ca
END
cat > home/.aws/credentials <<END
[default]
aws_access_key_id = NOSUCHKEY
aws_secret_access_key = wrong
[site]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
END
aws_env=(env -u VMBACKUP_S3_ENDPOINT -u AWS_CA_BUNDLE -u AWS_ACCESS_KEY_ID
         -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_DEFAULT_REGION
         -u AWS_REGION -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3
         -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE
         VMBACKUP_S3_ATTEMPTS=1 HOME="$scratch/home" AWS_PROFILE=site)
# lists_backup CMD...: it lists the backup made above.
lists_backup ()
{
  "$@" > list.out 2> list.err || fail "$*: $(cat list.err)"
  grep -q "^$id " list.out || fail "$*: $(cat list.out)"
}
# Junk before it all (binary bytes, a line of 1 MiB, a section header
# that never closes, a key with no section) is skipped.
{
  head -c 64K /dev/urandom | tr -d '[]='
  echo
  head -c 1M /dev/zero | tr '\0' x
  echo
  echo "[never closed"
  echo "endpoint_url = $nowhere"
  cat home/.aws/config
} > config.new
mv config.new home/.aws/config
lists_backup "${aws_env[@]}" "$VMBACKUP" list disk
# The environment wins over the file, and AWS_ENDPOINT_URL_S3 over
# AWS_ENDPOINT_URL (http here: the profile's ca_bundle, unused, is not
# even looked at then).
sed -i "s|^endpoint_url = $s3_tls_endpoint|endpoint_url = $nowhere|" home/.aws/config
lists_backup "${aws_env[@]}" AWS_ENDPOINT_URL="$s3_endpoint" "$VMBACKUP" list disk
lists_backup "${aws_env[@]}" AWS_ENDPOINT_URL="$nowhere" \
  AWS_ENDPOINT_URL_S3="$s3_endpoint" "$VMBACKUP" list disk
sed -i "s|^ca_bundle = $s3_tls_ca|ca_bundle = $scratch/gone.crt|" home/.aws/config
lists_backup "${aws_env[@]}" AWS_ENDPOINT_URL="$s3_endpoint" "$VMBACKUP" list disk
one_line 1 "^vmbackup: ca_bundle of the AWS config $scratch/gone.crt: No such file or directory$" \
  "${aws_env[@]}" AWS_ENDPOINT_URL="$s3_tls_endpoint" "$VMBACKUP" list
echo OK
