/* A writer's session with the chunk store.
 *
 * New chunks are written to tmp/ and published (renamed to chunks/XX/)
 * only after a syncfs(), in batches: a chunk name therefore never points
 * at data that a crash could lose, yet we pay one sync per batch rather
 * than one fsync per chunk.  store_finish() makes everything durable
 * before the caller writes the index and manifest that reference it. */
#ifndef VMB_STORE_H
#define VMB_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "chunk.h"
#include "digest.h"
#include "lock.h"
#include "repo.h"

struct store_stats {
  uint64_t new_chunks;
  uint64_t new_bytes;           /* bytes of chunk files written */
  uint64_t reused_chunks;
};

struct pending_chunk;

struct pending_batch {
  struct pending_chunk *items;
  size_t n;
};

#define STORE_QUEUE 2

struct store {
  struct repo *repo;
  struct writer_reg writer;
  int lock_fd;                  /* the publisher's (workers use their own) */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct pending_chunk *pending;
  size_t npending;
  uint64_t pending_bytes;
  struct store_stats stats;
  /* Full batches wait here for the publisher thread, which syncs and
   * renames them while the workers go on compressing. */
  pthread_t publisher;
  bool publisher_started;
  struct pending_batch queue[STORE_QUEUE];
  size_t queued;
  bool publishing, stopping;
  bool failed;
  char error[1024];
};

int store_begin (struct store *s, struct repo *repo);
/* Store one chunk (thread-safe).  lock_fd is the calling thread's own
 * chunk_lock_open() fd. */
int store_put (struct store *s, struct chunk_ctx *ctx, int lock_fd,
               const struct digest *d, const void *data, size_t len);
/* Store a chunk already encoded (chunk_encode's output, checked by the
 * caller against d).  With stored != NULL the chunk is first looked
 * for, and refreshed rather than written if present; *stored says
 * whether it was written (local repositories only: the server's use).
 * enc must have room up to the next CHUNK_ALIGN multiple past enclen
 * (it may be written padded, for O_DIRECT, which wants it aligned too).
 * Remote: sent, not waited for (store_finish reports failures). */
int store_put_encoded (struct store *s, int lock_fd, const struct digest *d,
                       const unsigned char *enc, size_t enclen, bool *stored);
/* Use a stored chunk again without its data (an incremental backup's
 * unchanged chunks, a file backup reusing its predecessor's): refresh it
 * as store_put does for a chunk it finds, so that a concurrent gc keeps
 * it.  1: there and refreshed, 0: missing (the caller must read and store
 * the data again: a chunk that verify quarantined is repaired that way),
 * -1: error. */
int store_refresh (struct store *s, int lock_fd, const struct digest *d);
/* A hint that store_refresh will soon be asked about d: a remote
 * store asks the server now, so that a run of reused chunks costs no
 * round trip each.  Nothing for a local one. */
void store_refresh_ahead (struct store *s, const struct digest *d);
/* Make every stored chunk durable and visible. */
int store_finish (struct store *s);
/* Drop unpublished chunks and the writer registration. */
void store_end (struct store *s);

#endif
