/* A writer's session with the chunk store: dedup against what is
 * stored, encode what is new, hand it to the backend.
 *
 * The backend may write asynchronously (the local one publishes in
 * batches after a syncfs(); the ssh one does not wait for the server's
 * answers); store_finish() makes everything durable and visible before
 * the caller writes the index and manifest that reference it. */
#ifndef VMB_STORE_H
#define VMB_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "chunk.h"
#include "common/digest.h"
#include "repo.h"

#define store_stats backend_stats

struct store {
  struct repo *repo;
  bool begun;
  struct store_stats stats;
};

int store_begin (struct store *s, struct repo *repo);
/* Store one chunk (thread-safe).  worker is the calling thread's own
 * repo_worker_open() handle. */
int store_put (struct store *s, struct chunk_ctx *ctx, int worker,
               const struct digest *d, const void *data, size_t len);
/* Store a chunk already encoded (chunk_encode's output, checked by the
 * caller against d).  With stored != NULL the chunk is first looked
 * for, and refreshed rather than written if present; *stored says
 * whether it was written (the server's use).  enc must have room up to
 * the next CHUNK_ALIGN multiple past enclen (it may be written padded,
 * for O_DIRECT, which wants it aligned too).  The backend may report a
 * failure later (store_finish). */
int store_put_encoded (struct store *s, int worker, const struct digest *d,
                       const unsigned char *enc, size_t enclen, bool *stored);
/* Use a stored chunk again without its data (an incremental backup's
 * unchanged chunks, a file backup reusing its predecessor's): refresh it
 * as store_put does for a chunk it finds, so that a concurrent gc keeps
 * it.  1: there and refreshed, 0: missing (the caller must read and store
 * the data again: a chunk that verify quarantined is repaired that way),
 * -1: error. */
int store_refresh (struct store *s, int worker, const struct digest *d);
/* As store_refresh, for a chunk d that a backup read after store_begin
 * names (the previous backup of the same disk, at the same place):
 * where the backend keeps such chunks for the session (backend.h,
 * chunk_kept) it counts as reused without a question to the
 * repository. */
int store_refresh_named (struct store *s, int worker, const struct digest *d);
/* Can store_refresh_named spare a question here at all? */
bool store_keeps_named (const struct store *s);
/* A hint that store_refresh will soon be asked about d: a backend with a
 * round trip per question asks now, so that a run of reused chunks costs
 * no round trip each. */
void store_refresh_ahead (struct store *s, const struct digest *d);
/* Does store_refresh_ahead do anything here? */
bool store_refresh_ahead_useful (const struct store *s);
/* Make every stored chunk durable and visible. */
int store_finish (struct store *s);
/* Drop unpublished chunks and the writer registration. */
void store_end (struct store *s);

#endif
