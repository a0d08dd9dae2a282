# make_tree DIR: a tree with every kind of entry and metadata a file
# backup keeps (contents, holes, symlinks, hard links, FIFO, device,
# modes, owners, ns times, xattrs, ACLs): 56 files, 9 directories and 4
# other entries.  Shared by the file backup tests; needs root, setfattr
# and setfacl.

# shellcheck shell=bash

make_tree ()
{
  local src=$1 i
  mkdir -p "$src/private" "$src/shared" "$src/deep/er/est"
  : > "$src/empty"
  printf x > "$src/one"
  head -c 3M /dev/urandom > "$src/three"
  head -c 5000001 /dev/urandom > "$src/deep/er/est/odd"
  for i in $(seq 50); do echo "small file $i" > "$src/deep/s$i"; done
  # 64 MiB with 1 MiB of data in the middle.
  truncate -s 64M "$src/sparse"
  dd if=/dev/urandom of="$src/sparse" bs=1M count=1 seek=32 conv=notrunc \
     status=none
  ln -s three "$src/link"
  ln -s /nonexistent/target "$src/dangling"
  ln "$src/three" "$src/private/three-again"
  mkfifo "$src/fifo"
  mknod "$src/null-dev" c 1 3
  chmod 0700 "$src/private"
  chmod 1777 "$src/shared"
  chown 1234:5678 "$src/one" "$src/private"
  chmod 4755 "$src/one"   # after chown, which clears set-ID bits
  chown -h 1234:5678 "$src/link"
  setfattr -n user.comment -v "hello world" "$src/three"
  setfattr -n user.binary -v 0x00ff00 "$src/empty"
  setfacl -m u:1234:rwx,g:5678:r "$src/shared"
  setfacl -d -m u:1234:rw "$src/shared"
  setfacl -m u:4321:r "$src/deep/s1"
  touch -d '2021-02-03 04:05:06.123456789' "$src/one" "$src/three"
  touch -h -d '2020-01-01 00:00:00.5' "$src/link"
  # Directory times last: making entries in them changed them.
  touch -d '2019-05-06 07:08:09.987654321' "$src/deep/er" "$src/private"
}

# Make the tree at $src, back it up as "tree" and check the summary line
# a user sees; sets id to the backup's ID.
backup_tree ()
{
  make_tree "$src"
  vmb files backup --name tree "$src" > backup.out ||
    fail "backup: $(cat backup.out)"
  grep -qE '^backup tree/[0-9T]+Z: 56 files, 9 directories, 4 other;' \
    backup.out || fail "backup summary: $(cat backup.out)"
  id=$(last_id tree)
}
