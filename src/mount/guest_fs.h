/* A backup's disk as guest file systems, through libguestfs: its
 * appliance (a small VM, TCG where KVM is missing) reads the disk from
 * the export's NBD socket and knows MBR, GPT, LVM, ext4, xfs, vfat and
 * more without any kernel module on the host; the file systems it can
 * mount are shown together, read-only, through one FUSE mount.  Why not
 * nbdfuse + loop devices or fuse2fs: a loop device needs the host's
 * kernel to know each file system and LVM needs device-mapper, neither
 * of which a FUSE-only host (no nbd module, a container) has. */
#ifndef VMB_GUEST_FS_H
#define VMB_GUEST_FS_H

#include <stdbool.h>
#include <stddef.h>

struct guest_fs;

/* One file system found on the disk: name is what the user sees (vda1,
 * vg0-root, vda for a file system on the whole disk); mounted false
 * when it could not be read, with why saying so. */
struct guest_fs_entry {
  char *name;
  char *device; /* the appliance's: /dev/sda1, /dev/vg0/root */
  char *fstype; /* as libguestfs names it: ext4, xfs, vfat, unknown */
  bool mounted;
  char *why;
};

/* Start the appliance on the NBD export at socket (disk_name names the
 * entries), find the file systems and mount every one it can,
 * read-only, at /NAME in the appliance.  tmpdir holds every file
 * libguestfs makes for this handle (removing it leaves nothing). */
struct guest_fs *guest_fs_open (const char *socket, const char *disk_name,
                                const char *tmpdir);

size_t guest_fs_count (const struct guest_fs *g);
const struct guest_fs_entry *guest_fs_entry (const struct guest_fs *g,
                                             size_t i);

/* Show the mounted file systems under dir (FUSE, read-only), then
 * serve until dir is unmounted (fusermount -u). */
int guest_fs_mount_local (struct guest_fs *g, const char *dir);
int guest_fs_serve (struct guest_fs *g);

/* Stop the appliance and free everything. */
void guest_fs_close (struct guest_fs *g);

#endif
