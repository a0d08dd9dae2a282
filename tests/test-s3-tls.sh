#!/usr/bin/env bash
# An S3 repository over https, on a radosgw whose certificate a private
# CA signed (a site's own Ceph): refused, in one line that says where
# the CA's certificate goes, until $AWS_CA_BUNDLE names it; then init,
# backup, list, restore (byte-identical) and verify work over TLS.  A
# certificate for another name, and a CA file that is not there, are
# one line each.
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
echo OK
