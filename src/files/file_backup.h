/* A file backup: walk the trees, put file contents in the data stream
 * and one record per entry in the catalogue stream, and describe both
 * in the manifest's archive line.  Per-entry trouble (unreadable,
 * vanished, changed while read, sockets) becomes events, and the
 * backup goes on. */
#ifndef VMB_FILE_BACKUP_H
#define VMB_FILE_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/events.h"
#include "repo/manifest.h"
#include "repo/store.h"

struct files_backup_params {
  struct store *store;
  /* The previous backup of the same name, or NULL: a file whose size,
   * mtime, ctime and inode are as it records is not read again; its
   * chunks are reused from there. */
  const struct manifest *parent;
  char **roots;
  size_t nroots;
  char **excludes;
  size_t nexcludes;
  bool one_file_system;
  int level; /* zstd level */
  struct event_log *events;
};

struct files_backup_result {
  struct manifest_archive archive;
  uint64_t files, dirs, others;
  uint64_t bytes_read; /* data read, retries included */
  uint64_t changed;    /* stored although they changed */
  uint64_t skipped;    /* unreadable entries, not stored */
  uint64_t reused;     /* files found unchanged in the parent */
  bool parent_failed;  /* its catalogue could not be used */
};

int files_backup (const struct files_backup_params *p,
                  struct files_backup_result *res);

#endif
