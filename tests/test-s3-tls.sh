#!/usr/bin/env bash
# An S3 repository over https, on a radosgw whose certificate a private
# CA signed (a site's own Ceph): refused, in one line that says where
# the CA's certificate goes, until $AWS_CA_BUNDLE names it; then init,
# backup, list, restore (byte-identical) and verify work over TLS.  A
# certificate for another name, and a CA file that is not there, are
# one line each.  The AWS CLI's config file (endpoint_url, ca_bundle,
# region) and credentials file are enough, as for the AWS tools.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
requires qemu-nbd
start_ceph_repo s3://vmb/tls
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
one_line 1 "^vmbackup: s3://vmb/[^ ]*: GET: SSL certificate problem: .* \(a private CA's certificate goes in \\\$AWS_CA_BUNDLE\)$" \
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
vmb list disk | grep -q "^$id " || fail "list over https: $(vmb list disk)"
vmb restore "$id" --to out.img > /dev/null || fail "restore over https"
cmp disk.img out.img || fail "the restore over https differs"
vmb verify > verify.out || fail "verify over https: $(cat verify.out)"

# The certificate names 127.0.0.1, not localhost.
VMBACKUP_S3_ENDPOINT=${s3_tls_endpoint/127.0.0.1/localhost} one_line 1 \
  "^vmbackup: s3://vmb/[^ ]*: GET: .*(localhost|host name).* \(a private CA's certificate goes in \\\$AWS_CA_BUNDLE\)$" \
  vmb list

# Over http (the same radosgw), the repository is the same one.
VMBACKUP_S3_ENDPOINT=$s3_endpoint vmb list disk | grep -q "^$id " ||
  fail "the repository written over https does not list over http"

# The AWS CLI's own files, as a site that already uses it has them: the
# profile's endpoint_url, region and ca_bundle in ~/.aws/config, its
# keys in ~/.aws/credentials; nothing in the environment.
mkdir -p home/.aws
cat > home/.aws/config <<END
[default]
region = nowhere
[profile site]
region = $AWS_DEFAULT_REGION
endpoint_url = $s3_tls_endpoint
ca_bundle = $s3_tls_ca
END
cat > home/.aws/credentials <<END
[site]
aws_access_key_id = $AWS_ACCESS_KEY_ID
aws_secret_access_key = $AWS_SECRET_ACCESS_KEY
END
aws_env=(env -u VMBACKUP_S3_ENDPOINT -u AWS_CA_BUNDLE -u AWS_ACCESS_KEY_ID
         -u AWS_SECRET_ACCESS_KEY -u AWS_DEFAULT_REGION -u AWS_REGION
         HOME="$scratch/home" AWS_PROFILE=site)
"${aws_env[@]}" "$VMBACKUP" list disk > list.out 2> list.err ||
  fail "the AWS config's endpoint_url, ca_bundle and region: $(cat list.err)"
grep -q "^$id " list.out || fail "list with the AWS config: $(cat list.out)"
# The environment wins over the file: AWS_ENDPOINT_URL (http here).
"${aws_env[@]}" AWS_ENDPOINT_URL="$s3_endpoint" "$VMBACKUP" list disk \
  > list.out 2> list.err ||
  fail "\$AWS_ENDPOINT_URL over the config's endpoint_url: $(cat list.err)"
grep -q "^$id " list.out || fail "list with \$AWS_ENDPOINT_URL: $(cat list.out)"
sed "s|^ca_bundle = .*|ca_bundle = $scratch/gone.crt|" home/.aws/config > config.new
mv config.new home/.aws/config
one_line 1 "^vmbackup: ca_bundle of the AWS config $scratch/gone.crt: No such file or directory$" \
  "${aws_env[@]}" "$VMBACKUP" list
echo OK
