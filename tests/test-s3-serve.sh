#!/usr/bin/env bash
# "vmbackup serve" whose own repository is on S3: the forced command of
# an ssh key serves s3://vmb/hosts/... (--restrict-to-repo, append-only)
# with the endpoint and credentials of the server's side (a credentials
# file; the client has none).  A client initialises, backs up full and
# incremental, lists, verifies and restores over ssh, byte-identical;
# the objects are in the bucket; deleting, other prefixes, escapes and
# local paths are refused; a key that is not append-only prunes and
# gc's over ssh.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ceph.sh"
source "$(dirname "$0")/functions-ssh.sh"
requires python3
: "${S3CHECK:=$(dirname "$VMBACKUP")/tests/s3check}"
[ -x "$S3CHECK" ] || fail "s3check not built: $S3CHECK"
start_ceph
start_sshd
cd "$scratch"

# The server's credentials, in a file only the forced command is told
# of; the client's environment keeps none (nor the endpoint).
mkdir aws
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
  "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > aws/credentials
s3creds=(env AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
         AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
         VMBACKUP_S3_ENDPOINT="$s3_endpoint")
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY VMBACKUP_S3_ENDPOINT
authorize_key "command=\"env AWS_SHARED_CREDENTIALS_FILE=$scratch/aws/credentials AWS_DEFAULT_REGION=default $VMBACKUP --s3-endpoint $s3_endpoint serve --append-only --restrict-to-repo s3://vmb/hosts/\",restrict"
host=ssh://root@127.0.0.1:$ssh_port
export VMBACKUP_REPO=$host/s3://vmb/hosts/one

vmb init --chunk-size 1M > init.out 2>&1 || fail "init over ssh into S3: $(cat init.out)"
"${s3creds[@]}" "$S3CHECK" s3://vmb/hosts/one list > objects ||
  fail "s3check list: $(cat objects)"
grep -q '^config ' objects || fail "no config object in the bucket: $(cat objects)"

truncate -s 32M disk.img
put_random disk.img 1 4
put_random disk.img 20 2
vmb backup --image disk=$scratch/disk.img > b1.out 2>&1 || fail "backup: $(cat b1.out)"
grep -q "6.0 MiB new" b1.out || fail "backup: $(cat b1.out)"
id1=$(last_id disk)
cp disk.img disk-v1.img
put_random disk.img 2 1
vmb backup --image disk=$scratch/disk.img > b2.out 2>&1 || fail "backup 2: $(cat b2.out)"
grep -qE ", 1\.[0-9] MiB new" b2.out || fail "second backup stored more than the change: $(cat b2.out)"
id2=$(last_id disk)
[ "$id1" != "$id2" ] || fail "one backup ID for two backups"

# What the client stored is in the bucket, under the prefix.
"${s3creds[@]}" "$S3CHECK" s3://vmb/hosts/one list > objects
grep -q '^backups/disk/' objects || fail "no manifest object: $(cat objects)"
[ "$(grep -c '^chunks/' objects)" -ge 7 ] || fail "chunks missing: $(cat objects)"

vmb restore "$id1" --to r1.img > /dev/null || fail "restore $id1 over ssh"
cmp disk-v1.img r1.img || fail "first backup restored differs"
vmb restore "$id2" --to r2.img > /dev/null || fail "restore $id2 over ssh"
cmp disk.img r2.img || fail "second backup restored differs"
vmb verify > v.out 2>&1 || fail "verify over ssh: $(cat v.out)"
grep -q "verified 2 backups, .*: 0 problems" v.out || fail "verify: $(cat v.out)"
[ "$(vmb list disk | grep -c .)" = 3 ] || fail "list: $(vmb list disk)"

# The same repository, reached on S3 directly, holds the same backups.
"${s3creds[@]}" "$VMBACKUP" --repo s3://vmb/hosts/one restore "$id2" --to r3.img \
  > /dev/null || fail "restore on S3 directly"
cmp disk.img r3.img || fail "restore on S3 directly differs"

# Every check serve makes still holds.
expect_fail 1 "append-only" vmb prune disk --keep-last 1
expect_fail 1 "append-only" vmb gc
vmb list disk | grep -q "$id1" || fail "prune removed $id1 on an append-only key"
expect_fail 1 "outside the repositories this server allows" \
  vmb --repo "$host/s3://vmb/other" init
expect_fail 1 "outside the repositories this server allows" \
  vmb --repo "$host/s3://vmb/hostsX/a" init
expect_fail 1 "not a usable s3://BUCKET/PREFIX" \
  vmb --repo "$host/s3://vmb/hosts/../other" init
expect_fail 1 "outside the paths this server allows" \
  vmb --repo "$host$scratch/local" init
[ ! -e "$scratch/local" ] || fail "a local repository was made"
[ -z "$("${s3creds[@]}" "$S3CHECK" s3://vmb/other list)" ] ||
  fail "objects outside the allowed prefix"

# A second host's repository under the same allowed prefix.
vmb --repo "$host/s3://vmb//hosts/two/" init > /dev/null || fail "init of a second repository"
"${s3creds[@]}" "$S3CHECK" s3://vmb/hosts/two list | grep -q '^config ' ||
  fail "the second repository is not at s3://vmb/hosts/two"
# A key without --append-only may prune and gc the S3 repository over
# ssh; what the remaining backup needs survives.
authorize_key "command=\"env AWS_SHARED_CREDENTIALS_FILE=$scratch/aws/credentials AWS_DEFAULT_REGION=default $VMBACKUP --s3-endpoint $s3_endpoint serve --restrict-to-repo s3://vmb/hosts/one\",restrict"
vmb prune disk --keep-last 1 > prune.out 2>&1 || fail "prune over ssh: $(cat prune.out)"
grep -q "^remove $id1" prune.out || fail "prune: $(cat prune.out)"
vmb gc > gc.out 2>&1 || fail "gc over ssh: $(cat gc.out)"
grep -qE "deleted [1-9][0-9]* chunks" gc.out || fail "gc deleted nothing: $(cat gc.out)"
vmb restore "$id2" --to r4.img > /dev/null || fail "restore after gc"
cmp disk.img r4.img || fail "restore after gc differs"
expect_fail 1 "outside the repositories this server allows" \
  vmb --repo "$host/s3://vmb/hosts/two" list
echo OK
