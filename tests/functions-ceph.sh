# A real single-node Ceph cluster on 127.0.0.1 for the S3 repository
# tests: one mon, one OSD (bluestore on a sparse file), radosgw and an S3
# user, from Debian's packages, without systemd or cephadm.  Source after
# tests/functions.sh (it needs requires, fail, cleanup_fn and $scratch):
#
#   source "$(dirname "$0")/functions-ceph.sh"
#   start_ceph                  # sets $ceph_dir, $s3_endpoint and the
#                               # AWS_* credentials of its S3 user;
#                               # with CEPH_TLS=1, $s3_tls_endpoint is
#                               # the same over https, with a
#                               # certificate of its own CA, $s3_tls_ca
#   start_ceph_repo s3://vmb/x  # the same, and vmbackup pointed there
#   s3 PUT /bucket              # a signed request (curl, SigV4)
#   stop_rgw; start_rgw         # radosgw killed and started again
#
# Every daemon runs in the foreground of its own process group under
# this shell, writes its pid to $ceph_dir/run/, and is stopped by that
# pid at exit (or by stop_ceph), so nothing outlives the test.

# shellcheck shell=bash
# shellcheck disable=SC2154  # $scratch is set by tests/functions.sh

_ceph_free_port ()
{
  python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ceph CLI as the cluster's admin, never waiting long for an answer.
ceph_admin ()
{
  timeout 60 ceph -c "$ceph_dir/ceph.conf" -k "$ceph_dir/admin.keyring" \
    --connect-timeout 30 "$@"
}

# start_ceph_repo REPO: the cluster started (start_ceph), $S3CHECK (the
# S3 client's own test driver) found, the scratch directory current and
# vmbackup pointed at REPO on the cluster.
start_ceph_repo ()
{
  : "${S3CHECK:=$(dirname "$VMBACKUP")/tests/s3check}"
  [ -x "$S3CHECK" ] || fail "s3check not built: $S3CHECK"
  start_ceph
  cd "$scratch" || fail "cannot enter $scratch"
  export VMBACKUP_S3_ENDPOINT=$s3_endpoint
  export VMBACKUP_REPO=$1
}

# wait_s3_serving BUCKET: wait (up to 120 s) until radosgw stores and
# reads objects again in BUCKET (under probe/, through $S3CHECK).  After
# an OSD was stopped, the mon may have marked it down, and requests
# block until it has peered again.  (`ceph pg stat` would need a mgr,
# which this cluster does not run.)
wait_s3_serving ()
{
  local url=s3://$1/probe t0=$SECONDS
  echo probe > "$scratch/probe.txt"
  while (( SECONDS - t0 < 120 )); do
    if VMBACKUP_S3_TIMEOUT=3 VMBACKUP_S3_ATTEMPTS=1 \
         "$S3CHECK" "$url" put probe "$scratch/probe.txt" >/dev/null 2>&1 \
       && VMBACKUP_S3_TIMEOUT=3 VMBACKUP_S3_ATTEMPTS=1 \
         "$S3CHECK" "$url" head probe >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.5
  done
  ceph_logs_tail
  fail "radosgw does not store objects in $1 again within 120 s"
}

# What the daemons said last, on stderr, for whoever reads a failure.
ceph_logs_tail ()
{
  local log
  for log in "$ceph_dir"/log/*.log; do
    echo "--- $(basename "$log"):" >&2
    tail -n 8 "$log" >&2 || true
  done
}

# Start one daemon (all its arguments) in the background; its pid is kept
# in run/NAME.pid.
_ceph_daemon ()
{
  local name=$1
  shift
  setsid "$@" -f -c "$ceph_dir/ceph.conf" \
    >> "$ceph_dir/log/$name.out" 2>&1 &
  echo $! > "$ceph_dir/run/$name.pid"
}

_ceph_kill ()
{
  local f=$ceph_dir/run/$1.pid pid i
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

start_ceph ()
{
  local fsid secret uuid id pool i
  requires_root "ceph daemons"
  for i in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool \
           monmaptool curl python3; do
    requires "$i"
  done
  ceph_dir=$scratch/ceph
  mkdir -p "$ceph_dir"/{mon,osd,rgw,run,log}
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  local mon_port; mon_port=$(_ceph_free_port)
  rgw_port=$(_ceph_free_port)
  local tls_frontend=""
  if [ "${CEPH_TLS:-0}" = 1 ]; then
    rgw_tls_port=$(_ceph_free_port)
    _ceph_tls_certificate
    tls_frontend=" ssl_endpoint=127.0.0.1:$rgw_tls_port ssl_certificate=$ceph_dir/tls/rgw.crt ssl_private_key=$ceph_dir/tls/rgw.key"
  fi
  # Sized for a 2-core test machine: one copy of everything, few PGs,
  # small caches; pool changes commit in tens of ms, not a second; RGW
  # frees deleted objects' space after seconds, not two hours.
  cat > "$ceph_dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = $ceph_dir/run
admin socket = $ceph_dir/run/\$name.asok
log file = $ceph_dir/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 500
paxos propose interval = 0.1
paxos min wait = 0.01
osd objectstore = bluestore
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 67108864
rgw gc obj min wait = 5
rgw gc processor period = 5
[mon.a]
mon data = $ceph_dir/mon
[osd]
osd data = $ceph_dir/osd
keyring = $ceph_dir/osd/keyring
bluestore block create = true
bluestore block size = 21474836480
[client.admin]
keyring = $ceph_dir/admin.keyring
[client.rgw.a]
keyring = $ceph_dir/rgw.keyring
rgw frontends = beast endpoint=127.0.0.1:$rgw_port$tls_frontend
rgw data = $ceph_dir/rgw
rgw dns name = 127.0.0.1
EOF
  cleanup_fn stop_ceph

  ceph-authtool --create-keyring "$ceph_dir/mon.keyring" --gen-key \
    -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$ceph_dir/admin.keyring" --gen-key \
    -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' >/dev/null
  ceph-authtool "$ceph_dir/mon.keyring" \
    --import-keyring "$ceph_dir/admin.keyring" >/dev/null
  monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" \
    --fsid "$fsid" "$ceph_dir/monmap" >/dev/null
  ceph-mon -c "$ceph_dir/ceph.conf" --mkfs -i a \
    --monmap "$ceph_dir/monmap" --keyring "$ceph_dir/mon.keyring" \
    > "$ceph_dir/log/mkfs-mon.out" 2>&1 ||
    fail "ceph-mon --mkfs: $(tail -3 "$ceph_dir/log/mkfs-mon.out")"
  _ceph_daemon mon ceph-mon -i a
  ceph_admin status >/dev/null 2>&1 ||
    fail "ceph-mon does not answer: $(tail -3 "$ceph_dir/log/mon.a.log")"

  # The OSD's key is made by the mon (osd new) before the OSD's mkfs.
  uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  secret=$(ceph-authtool --gen-print-key)
  echo "{\"cephx_secret\": \"$secret\"}" > "$ceph_dir/osd.json"
  id=$(ceph_admin osd new "$uuid" -i "$ceph_dir/osd.json" 2>/dev/null) ||
    fail "ceph osd new failed"
  ceph-authtool --create-keyring "$ceph_dir/osd/keyring" \
    --name "osd.$id" --add-key "$secret" >/dev/null
  ceph-osd -c "$ceph_dir/ceph.conf" -i "$id" --mkfs --osd-uuid "$uuid" \
    > "$ceph_dir/log/mkfs-osd.out" 2>&1 ||
    fail "ceph-osd --mkfs: $(tail -3 "$ceph_dir/log/mkfs-osd.out")"
  _ceph_daemon osd ceph-osd -i "$id"
  for i in $(seq 300); do
    ceph_admin osd stat 2>/dev/null | grep -q '1 up' && break
    sleep 0.2
  done
  ceph_admin osd stat | grep -q '1 up' || fail "the OSD did not come up"

  # radosgw makes its pools lazily, one slow commit at a time: make them.
  for pool in .rgw.root default.rgw.control default.rgw.meta \
              default.rgw.log default.rgw.buckets.index \
              default.rgw.buckets.data default.rgw.buckets.non-ec; do
    ceph_admin osd pool create "$pool" 8 8 >/dev/null 2>&1 ||
      fail "cannot create pool $pool"
    ceph_admin osd pool application enable "$pool" rgw >/dev/null 2>&1
  done
  ceph_admin auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' \
    > "$ceph_dir/rgw.keyring"
  start_rgw

  export AWS_ACCESS_KEY_ID=VMBACKUPTESTKEY0001
  export AWS_SECRET_ACCESS_KEY=vmbackup-test-secret-0001
  timeout 60 radosgw-admin -c "$ceph_dir/ceph.conf" \
    -k "$ceph_dir/admin.keyring" user create --uid vmbackup \
    --display-name vmbackup --access-key "$AWS_ACCESS_KEY_ID" \
    --secret-key "$AWS_SECRET_ACCESS_KEY" >/dev/null ||
    fail "radosgw-admin user create failed"
  export AWS_DEFAULT_REGION=default
  s3_endpoint=http://127.0.0.1:$rgw_port
  if [ "${CEPH_TLS:-0}" = 1 ]; then
    s3_tls_endpoint=https://127.0.0.1:$rgw_tls_port
  fi
}

# A private CA, as a site's own Ceph would have, and radosgw's
# certificate for 127.0.0.1 signed by it: $s3_tls_ca is the CA's.
_ceph_tls_certificate ()
{
  local d=$ceph_dir/tls
  requires openssl
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
    -subj "/CN=vmbackup test CA" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/rgw.key" -out "$d/rgw.csr" -subj "/CN=127.0.0.1" \
    2>/dev/null &&
  openssl x509 -req -in "$d/rgw.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
    -CAcreateserial -out "$d/rgw.crt" -days 2 \
    -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') 2>/dev/null ||
    fail "cannot make radosgw's TLS certificate"
  s3_tls_ca=$d/ca.crt
}

start_rgw ()
{
  local i
  _ceph_daemon rgw radosgw -n client.rgw.a
  for i in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$rgw_port/" && return 0
    sleep 0.2
  done
  fail "radosgw does not answer: $(tail -3 "$ceph_dir/log/client.rgw.a.log")"
}

stop_rgw ()
{
  _ceph_kill rgw
}

stop_ceph ()
{
  [ -n "${ceph_dir:-}" ] || return 0
  _ceph_kill rgw
  _ceph_kill osd
  _ceph_kill mon
}

# s3 METHOD /BUCKET[/KEY] [curl options...]: a SigV4-signed request to
# the cluster's radosgw; prints the body, fails on an HTTP error.  curl
# 7.88 does not send x-amz-content-sha256, which RGW requires: it is
# sent here (UNSIGNED-PAYLOAD, as the AWS CLI does over TLS).
s3 ()
{
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body -X "$method" \
    --aws-sigv4 "aws:amz:$AWS_DEFAULT_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
    "$@" "$s3_endpoint$path"
}
