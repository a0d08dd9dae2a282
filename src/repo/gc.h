/* Garbage collection: delete chunks and indexes that no backup
 * references.  Safe while backups run: the backend's gc_begin and
 * gc_sweep keep whatever a running backup stores or reuses
 * (backend/backend.h). */
#ifndef VMB_GC_H
#define VMB_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "repo.h"

/* A line for the user while gc runs (why it waits); not an error. */
typedef backend_notice_fn gc_notice_fn;

/* notice may be NULL. */
int gc_run (struct repo *repo, bool dry_run, struct gc_stats *st,
            gc_notice_fn notice, void *opaque);

#endif
