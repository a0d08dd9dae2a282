#!/usr/bin/env bash
# Full recovery of a VM whose data is protected by an in-guest file
# backup, with the repository on another machine (over ssh, through an
# append-only key restricted to the repository's directory):
#
#  1. the VM (shut off) is backed up over ssh, and so are the files of
#     its data disk: the tiny test guest (busybox) cannot run vmbackup,
#     so the file backup runs on the host "as on a physical machine",
#     from a tree that stands for the guest's data;
#  2. the VM and its disks are lost;
#  3. 'vmbackup restore --config-only' over ssh defines it again with
#     blank disks of the right sizes;
#  4. the files are restored over ssh into a directory and put on the
#     blank data disk as an ext4 filesystem (mkfs.ext4 -d), as an
#     in-guest restore onto a freshly made filesystem would;
#  5. the VM boots and the guest itself checks every file's SHA-256;
#  6. the whole VM is also restored over ssh beside it (--as), its disk
#     identical to the original.
source "$(dirname "$0")/../functions.sh"
source "$(dirname "$0")/functions-vm.sh"
source "$(dirname "$0")/../functions-ssh.sh"
requires mkfs.ext4
start_libvirt
start_sshd
cd "$scratch"

backup_dir=$scratch/backup
mkdir -p "$backup_dir"
VMBACKUP_REPO=$backup_dir/repo vmb init > /dev/null
authorize_key "command=\"$VMBACKUP serve --append-only --restrict-to-path $backup_dir\",restrict"
export VMBACKUP_REPO=ssh://root@127.0.0.1:$ssh_port$backup_dir/repo

name=vmbrr-$$
define_guest "$name" --two-disks --raw --size 64M
disk=$(guest_dir "$name")/vdb.raw
[ -f "$disk" ] || fail "no data disk at $disk"

# 1. Backups, both over ssh.
vmb backup "$name" > vm-backup.out 2>&1 || fail "VM backup over ssh: $(cat vm-backup.out)"
data=$scratch/guest-data
mkdir -p "$data/docs/deep" "$data/bin"
head -c 3M /dev/urandom > "$data/bin/blob"
seq 100000 > "$data/docs/numbers"
for i in $(seq 20); do echo "note $i" > "$data/docs/deep/note-$i"; done
ln -s ../docs/numbers "$data/bin/numbers-link"
( cd "$data" && find . -type f | sort | xargs sha256sum ) > sums.host
vmb files backup --name "$name-files" "$data" > files-backup.out \
  || fail "files backup over ssh: $(cat files-backup.out)"

cp --sparse=always "$(guest_dir "$name")/vda.raw" orig-vda.raw

# 2. Disaster.
destroy_guest "$name"
rm -rf "$(guest_dir "$name")"/*.raw

# 3. The definition with blank disks.
vmb restore "$name" --config-only > config-only.out 2>&1 \
  || fail "restore --config-only over ssh: $(cat config-only.out)"
vsh dominfo "$name" > /dev/null || fail "the VM is not defined again"
[ "$(stat -c %s "$disk")" = $((64 << 20)) ] || fail "blank data disk has the wrong size"
[ "$(stat -c %b "$disk")" -le 8 ] || fail "blank data disk is not blank"

# 4. The files, over ssh, onto a new filesystem on the blank disk.
vmb files restore "$name-files" --to restored > files-restore.out 2>&1 \
  || fail "files restore over ssh: $(cat files-restore.out)"
mkfs.ext4 -q -F -d "restored$data" "$disk" || fail "mkfs.ext4 -d on the blank disk"

# 5. Boot it; the guest checks the files on its second disk (/data2).
start_guest "$name"
wait_agent "$name"
guest_exec "$name" 'cd /data2 && find . -type f | sort | xargs sha256sum' \
  > sums.guest || fail "checksums in the guest"
diff sums.host sums.guest || fail "files in the recovered guest differ"
[ "$(guest_exec "$name" 'readlink /data2/bin/numbers-link')" = ../docs/numbers ] \
  || fail "symlink not recovered"

# The whole VM also comes back over ssh, disks and all, beside it.
mkdir -m 0711 "$scratch/copy"
vmb restore "$name" --as "$name-copy" --storage "$scratch/copy" > copy.out 2>&1 \
  || fail "full VM restore over ssh: $(cat copy.out)"
cleanup_fn "destroy_guest '$name-copy'"
copy_vda=$(vsh domblklist "$name-copy" | awk '$1 == "vda" {print $2}')
cmp orig-vda.raw "$copy_vda" || fail "disk restored over ssh differs"

# The append-only repository verifies clean on its own machine.
VMBACKUP_REPO=$backup_dir/repo vmb verify > verify.out || fail "verify: $(cat verify.out)"
echo OK
