#!/usr/bin/env bash
# Not a test (meson does not run it): times one COMMIT of a copy of a 4 GiB sparse image backup's
# manifest (1 GiB random data), whose chunks this session did not put,
# so every header is read.  CHUNK=64K or 4M.
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
cd "$scratch"
start_sshd
mkdir -p "$scratch/allowed"
local_repo=$scratch/allowed/repo
VMBACKUP_REPO=$local_repo vmb init --chunk-size "${CHUNK:-4M}" >/dev/null
authorize_key "command=\"$VMBACKUP serve --append-only\",restrict"
export VMBACKUP_REPO=ssh://root@127.0.0.1:$ssh_port$local_repo
truncate -s 4G disk.img
for off in 0 1024 2048 3072; do
  head -c 256M /dev/urandom | dd of=disk.img bs=1M seek=$off conv=notrunc status=none
done
s=$(date +%s.%N)
vmb backup --image img=disk.img > b.out || fail "backup: $(cat b.out)"
e=$(date +%s.%N)
echo "backup over ssh: $(echo "$e - $s" | bc) s"
id=$(last_id img)
raw_client "$local_repo" "$id" <<'PY'
import sys, time
from vmbproto import *
repo, id_ = sys.argv[1], sys.argv[2]
for session in range(2):
    p = Proto(ssh_argv())
    p.expect(OPEN, open_payload(repo), OK)
    text = p.expect(MANIFEST_GET, string(id_), OK).decode()
    for i in range(2):
        now = int(time.time())
        rid = p.reserve("img", now)
        m = reseal(text, id=rid, time=now, finished=now).encode()
        t = time.time()
        p.expect(COMMIT, m, OK)
        print("session %d COMMIT %d: %.3f s" % (session, i, time.time() - t))
    p.close()
PY
