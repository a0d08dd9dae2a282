/* Many S3 requests in flight: a few threads, each with its own kept-alive
 * connection (s3_client.c's pool of curl handles), working through a
 * bounded queue of PUTs (put-if-absent: an object already there is
 * fine, its content is named by its digest) and DELETEs.  The queue is
 * bounded in bytes as well as in jobs, so memory stays bounded whatever
 * the size of a backup; the caller waits while it is full.  The first
 * error is kept and returned by every later call. */
#ifndef VMB_S3_POOL_H
#define VMB_S3_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "s3_client.h"

#define S3_KEY_MAX 128

struct s3_pool;

/* guard, if not NULL, is asked before each request is sent (a lease
 * still held): -1 (error set) fails the job instead. */
typedef int (*s3_pool_guard_fn) (void *opaque);
struct s3_pool *s3_pool_new (struct s3_client *c, unsigned threads,
                             size_t max_bytes, s3_pool_guard_fn guard,
                             void *guard_opaque);
/* Queue a put-if-absent of data (len bytes, copied) as key; d names it
 * for s3_pool_has (NULL: not a chunk). */
int s3_pool_put (struct s3_pool *p, const struct digest *d, const char *key,
                 const void *data, size_t len);
int s3_pool_delete (struct s3_pool *p, const char *key);
/* Is chunk d queued or being sent? */
bool s3_pool_has (struct s3_pool *p, const struct digest *d);
/* Wait until every job is done: 0, or -1 with the first error. */
int s3_pool_wait (struct s3_pool *p);
/* Objects the PUTs created (not there before) and their bytes. */
void s3_pool_counts (struct s3_pool *p, uint64_t *created, uint64_t *bytes);
/* Stop the threads; queued jobs are dropped. */
void s3_pool_free (struct s3_pool *p);

#endif
