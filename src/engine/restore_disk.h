/* Restore one disk from the repository into an image file: raw written
 * sparse with pwrite, a new qcow2 laid out and written directly
 * (qcow2_layout.h), an existing qcow2 or block device overwritten
 * through qemu-nbd; all-zero chunks and zero blocks inside chunks become
 * holes.  Chunks are fetched, decompressed and checked on several
 * threads.  The target appears at
 * its path only when every chunk was verified and written: until then
 * it is .NAME.vmbackup-partial beside it. */
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
  /* Go on from what a killed or failed restore to the same path wrote,
   * and keep what this one writes if it fails (restore_resume.h);
   * not with overwrite. */
  bool resume;
  /* At most this many MiB/s of the backup's data read and written (an
   * instant restore's fill, beside a running VM); 0: as fast as it
   * goes.  Holes and all-zero chunks cost nothing and are not counted. */
  int bandwidth_mib;
  progress_fn progress;
  /* Called once, before any chunk is written, when a resumable restore
   * goes on from chunks [0, chunks) of of written by an earlier one. */
  void (*resumed) (void *opaque, uint64_t chunks, uint64_t of);
  void *progress_opaque; /* for both */
};

int restore_disk (const struct restore_disk_params *p);

/* Where the restore to path writes until it is whole:
 * DIR/.BASENAME.vmbackup-partial.  0, or -1 when it does not fit. */
int restore_partial_path (const char *path, char *out, size_t len);

/* Remove what a resumable restore to path left (the partial image and
 * its record).  0, or -1 when the names do not fit. */
int restore_partial_remove (const char *path);

#endif
