/* Garbage collection: delete chunks and indexes that no backup
 * references.  Safe while backups run: see lock.h for the protocol. */
#ifndef VMB_GC_H
#define VMB_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "repo.h"

struct gc_stats {
  uint64_t backups;
  uint64_t chunks_kept;
  uint64_t chunks_deleted;
  uint64_t bytes_deleted;
  uint64_t indexes_deleted;
  uint64_t tmp_deleted;
};

int gc_run (struct repo *repo, bool dry_run, struct gc_stats *st);

#endif
