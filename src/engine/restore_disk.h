/* Restore one disk from the repository into an image file: raw written
 * sparse with pwrite, a new qcow2 laid out and written directly
 * (qcow2_layout.h), an existing qcow2 or block device overwritten
 * through qemu-nbd; all-zero chunks and zero blocks inside chunks become
 * holes.  Chunks are fetched, decompressed and checked on several
 * threads.  The target appears at
 * its path only when every chunk was verified and written. */
#ifndef VMB_RESTORE_DISK_H
#define VMB_RESTORE_DISK_H

#include <stdbool.h>

#include "backup_disk.h"
#include "repo/manifest.h"

struct restore_disk_params {
  struct repo *repo;
  const struct manifest_disk *disk;
  const char *path;   /* must not exist, unless overwrite */
  bool overwrite;     /* write every byte, zeros included, into
                                 * the existing image at path: a qcow2
                                 * (internal snapshots are built layer by
                                 * layer) or a block device (raw) */
  const char *format; /* "raw" or "qcow2" */
  progress_fn progress;
  void *progress_opaque;
};

int restore_disk (const struct restore_disk_params *p);

#endif
