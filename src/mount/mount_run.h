/* vmbackup mount: a backup's disk shown as guest file systems under a
 * directory, by a background process (the keeper) that runs the export
 * (export_run) and the libguestfs appliance (guest_fs) until the FUSE
 * mount goes away.  Its state lives in a run directory of its own, one
 * per mount point, named after it; whatever a killed keeper left (the
 * FUSE mount, nbdkit, qemu, temporary files) is found from there and
 * removed by mount_cleanup, which 'vmbackup umount' and the next mount
 * call. */
#ifndef VMB_MOUNT_RUN_H
#define VMB_MOUNT_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "export/export_run.h"

/* The run directory for mount point dir (absolute, canonical: see
 * mount_canonical).  Under $VMBACKUP_RUN_DIR, else /run/vmbackup for
 * root, else $XDG_RUNTIME_DIR/vmbackup or /tmp/vmbackup-UID. */
int mount_run_dir (const char *dir, char *out, size_t len);

/* dir made absolute with its parent's symlinks resolved, without
 * looking into dir itself (a dead FUSE mount answers ENOTCONN). */
int mount_canonical (const char *dir, char *out, size_t len);

/* Whether a keeper of ours for dir runs (1), left state behind (0 with
 * *stale set) or nothing is there (0). */
int mount_state (const char *dir, bool *stale);

/* Unmount dir, stop every process of this mount (the keeper first,
 * cleanly, then anything still holding the run directory) and remove
 * the run directory.  -1 with the error set when dir is busy. */
int mount_cleanup (const char *dir);

struct mount_params {
  const char *dir;             /* canonical, existing, empty */
  struct export_params export; /* socket is filled in here */
  const char *disk_name;
  /* One line per file system as the keeper reports it:
   * "NAME FSTYPE mounted" or "NAME FSTYPE not readable: WHY". */
  void (*line) (void *opaque, const char *text);
  void *opaque;
  /* The keeper dies with the caller also once the mount is up (a
   * restore's private mount): the next restore cleans up after it. */
  bool die_with_caller;
};

/* Start the keeper and return once dir shows the file systems (0), or
 * when it failed (-1, error set, nothing left). */
int mount_start (const struct mount_params *p);

#endif
