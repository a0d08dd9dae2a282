#!/usr/bin/env bash
# vmbackup find: which backups hold a file, without restoring a disk.
# Two image backups of an ext4 disk (a file removed, another added
# between them) and a files backup: a path, a glob, JSON, a pattern
# nothing holds (exit 1), bad input (one line each); nothing left
# behind (no FUSE mount, no temporary mount point, no process).
tests=$(cd "$(dirname "$0")" && pwd)
source "$tests/functions.sh"
source "$tests/functions-mount.sh"
requires mke2fs
requires python3
cd "$scratch"
vmb init >/dev/null

make_fs () { rm -f disk.img; truncate -s 32M disk.img; mke2fs -q -t ext4 -d root -F disk.img; }
mkdir -p root/etc root/home/alice
echo "/dev/vda1 / ext4 defaults 0 1" > root/etc/fstab
echo "first" > root/etc/motd
echo "alias ll='ls -l'" > root/home/alice/.bashrc
make_fs
vmb backup --image srv="$scratch/disk.img" >/dev/null
id1=$(last_id srv)
sleep 1.1                                     # distinct backup IDs
rm root/etc/motd
echo "x = 1" > root/etc/app.conf
touch -d @1600000000 root/etc/app.conf
make_fs
vmb backup --image srv="$scratch/disk.img" >/dev/null
id2=$(last_id srv)
vmb files backup --name tree "$scratch/root" >/dev/null
tree_id=$(last_id tree)

# A path only the first backup holds; its line says where to restore from.
vmb find /etc/motd srv > motd.out 2> motd.err || fail "find /etc/motd: $(cat motd.out motd.err)"
[ "$(wc -l < motd.out)" = 1 ] || fail "find /etc/motd: $(cat motd.out)"
grep -qE "^$id1 srv - +6 [0-9TZ:-]+ /srv/etc/motd$" motd.out || fail "find line: $(cat motd.out)"
grep -qx "1 match in 1 of 2 backups" motd.err || fail "find summary: $(cat motd.err)"

# A glob, in the disks and in a files backup (its paths as backed up),
# with metadata, as JSON.
vmb find --json '/etc/*.conf' "$id2" > conf.json || fail "find --json"
python3 - conf.json "$id2" <<'EOP' || fail "find --json: $(cat conf.json)"
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m) == 1, m
assert m[0] == {"backup": sys.argv[2], "disk": "srv", "path": "/srv/etc/app.conf",
                "type": "file", "size": 6, "mtime": 1600000000}, m
EOP
vmb find "$scratch/root/home/*/.bashrc" tree > tree.out 2>/dev/null || fail "find in a files backup"
grep -qE "^$tree_id files - +17 [0-9TZ:-]+ $scratch/root/home/alice/.bashrc$" tree.out \
  || fail "find in a files backup: $(cat tree.out)"
# '*' matches neither '/' nor a leading '.': as a shell would.
vmb find "$scratch/root/home/alice/*" tree > star.out 2>/dev/null && fail "'*' matched a dot file: $(cat star.out)"
vmb find "$scratch/root/*/.bashrc" tree > star.out 2>/dev/null && fail "'*' crossed a '/': $(cat star.out)"

# Nothing holds it: exit 1, one line; two names at once.
expect_fail 1 "none of the 1 backup holds /etc/shadow" vmb find /etc/shadow tree
# Bad input: one line each, nothing started.
expect_fail 2 "give an absolute path in the guest" vmb find etc/motd srv
expect_fail 2 "without '..'" vmb find /etc/../etc/motd srv
expect_fail 1 "no backup named nosuch" vmb find /etc/motd nosuch
expect_fail 1 "has no disk vdz" vmb find --disk vdz /etc/motd "$id1"
expect_fail 2 "give a path PATTERN and at least one backup" vmb find /etc/motd

no_leftovers /nonexistent
true
