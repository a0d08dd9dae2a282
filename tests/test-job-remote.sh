#!/usr/bin/env bash
# A job into a repository over ssh whose server ends idle sessions
# (serve --idle-timeout 2) while the run's own connection waits on a
# slow target: the run opens a new connection and still finds the
# backup made, prunes and verifies.  (Real servers end sessions idle
# for an hour; a big VM takes longer than that.)
source "$(dirname "$0")/functions.sh"
source "$(dirname "$0")/functions-ssh.sh"
requires qemu-nbd
requires python3
cd "$scratch"
start_sshd
authorize_key "command=\"$VMBACKUP serve --idle-timeout 2\""
url=ssh://root@127.0.0.1:$ssh_port$scratch/repo
vmb --repo "$url" init >/dev/null

# Every ssh connection after the run's first (the targets', and any
# new one of the run's) takes 3 s to set up: the run's first goes idle.
cat > slow-ssh <<EOS
#!/bin/sh
n=\$(cat $scratch/connections 2>/dev/null || echo 0)
echo \$((n + 1)) > $scratch/connections
[ "\$n" -ge 1 ] && sleep 3
exec $VMBACKUP_RSH "\$@"
EOS
chmod +x slow-ssh
export VMBACKUP_JOBS_DIR="$scratch/jobs" VMBACKUP_JOBS_STATE_DIR="$scratch/state"
mkdir jobs
truncate -s 4M d.img; put_random d.img 0 1
cat > jobs/remote.conf <<EOC
repository = $url
image = d=$scratch/d.img
keep-last = 1
verify = always
EOC

for run in 1 2; do
  rm -f connections
  VMBACKUP_RSH=$scratch/slow-ssh vmb job run remote > run$run.out 2>&1 \
    || fail "run $run: $(cat run$run.out)"
  [ "$(cat connections)" -ge 3 ] || fail "run $run: no new connection ($(cat connections))"
  sleep 1.1
done
tail -1 run2.out | grep -qE "^job remote: ok, 1 of 1 target backed up, .*, 1 pruned, verified 1 backup: 0 problems, " \
  || fail "summary: $(cat run2.out)"
id=$(vmb --repo "$url" list d | awk 'NR==2 {print $1}')
[ "$(vmb --repo "$url" list d | tail -n +2 | wc -l)" = 1 ] || fail "not pruned"
grep -q "\"backup\":\"$id\"" state/remote.json || fail "JSON does not name $id: $(cat state/remote.json)"
