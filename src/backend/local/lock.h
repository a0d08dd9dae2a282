/* Coordination between concurrent writers (backups) and gc, without a
 * repository-wide lock that would make one wait for the other.
 *
 * - Each writer registers a file in locks/writers/ holding its start time
 *   and keeps an exclusive flock on it for its whole life; gc tells live
 *   writers from dead ones by trying that lock.
 * - Every chunk prefix XX has one byte in locks/chunks.  A writer that
 *   reuses an existing chunk refreshes its mtime under a shared lock on
 *   that byte; gc checks and deletes a chunk under an exclusive one.  So a
 *   chunk is either refreshed (and gc keeps it) or gone (and the writer
 *   stores it again): never refreshed-then-deleted.
 * - gc deletes only what is older than the oldest live writer's start,
 *   so anything a running backup wrote or refreshed survives.
 */
#ifndef VMB_LOCK_H
#define VMB_LOCK_H

#include <stdint.h>

struct local;

struct writer_reg {
  int fd;
  char *path;
  int64_t start_ns;
};

int writer_register (struct local *L, struct writer_reg *w);
void writer_unregister (struct writer_reg *w);

/* Oldest start time of live writers (or INT64_MAX if none), removing the
 * registrations of writers that died. */
int writers_oldest_start (struct local *L, int64_t *oldest_ns);

/* Each thread opens its own lock fd: OFD locks belong to the open file
 * description, so threads sharing one fd would release each other's.
 * Returns the fd, or -1 with the error set. */
int chunk_lock_open (struct local *L);
int chunk_prefix_lock (int lock_fd, unsigned prefix, int exclusive);
/* The same without waiting: 0 locked, 1 held by another (error unset),
 * -1 error. */
int chunk_prefix_trylock (int lock_fd, unsigned prefix, int exclusive);
void chunk_prefix_unlock (int lock_fd, unsigned prefix);

/* Take the gc lock without waiting; returns fd or -1 ("gc already
 * running"). */
int gc_lock (struct local *L);

int64_t now_realtime_ns (void);

#endif
