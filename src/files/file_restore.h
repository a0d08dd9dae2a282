/* Restoring a file backup into a directory.
 *
 * Everything is created relative to directory file descriptors opened
 * one component at a time with O_NOFOLLOW, starting from the target
 * directory, and the catalogue reader refuses absolute paths and ".."
 * (catalogue.h): nothing is ever written outside the target, whatever
 * the archive or the target already holds.  An existing non-directory
 * in the way is replaced; an existing directory is reused (never
 * removed).
 *
 * Without the privilege for them, ownership, device nodes and some
 * xattrs are left out and counted by kind; the caller warns once per
 * kind. */
#ifndef VMB_FILE_RESTORE_H
#define VMB_FILE_RESTORE_H

#include <stdint.h>

#include "common/events.h"
#include "repo/manifest.h"

/* One entry that could not be restored (the restore goes on). */
typedef void (*files_restore_report_fn) (void *opaque, const char *msg);

struct files_restore_params {
  struct repo *repo;
  const struct manifest *m;
  const char *to;
  char **paths; /* restore only these and their trees */
  size_t npaths;
  struct event_log *events;
  files_restore_report_fn report;
  void *opaque;
};

struct files_restore_result {
  uint64_t entries, bytes;
  uint64_t errors; /* entries reported */
  uint64_t no_owner, no_devices, no_xattrs;
  const char *unmatched; /* a path that matched nothing */
};

/* -1 when the restore could not go on (catalogue unreadable or damaged,
 * target unusable); per-entry failures are counted in res->errors. */
int files_restore (const struct files_restore_params *p,
                   struct files_restore_result *res);

#endif
