/* Chunks fetched ahead of their chunk_get.  A reader that goes through
 * a disk in order (a disk restore, an NBD export, a file restore, a
 * copy) names the chunks it will want next (chunk_prefetch); a few
 * threads of the prefetcher's own GET them meanwhile, so the cluster
 * serves the next chunks while the reader decrypts and decompresses the
 * last ones.  Without it a reader's threads do both in turn: over data
 * that decompresses slowly every thread decodes and the cluster idles,
 * and over data that does not, the threads wait on the cluster with the
 * cores idle.
 *
 * Bounded: S3_PREFETCH_BYTES of fetched chunk files at most, whatever
 * the disk or the chunk size.  A hint that finds no room is dropped (it
 * is a hint: chunk_get GETs the chunk itself), and room is made only of
 * a chunk that was fetched and then passed by: as many later hints as
 * there are slots came and it was still not asked for.  A fetch that failed
 * fails its chunk_get with the same error, at once; one that failed
 * for want of an answer pauses the prefetcher until a chunk_get's own
 * GET succeeds again (s3_prefetch_resume). */
#ifndef VMB_S3_PREFETCH_H
#define VMB_S3_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/digest.h"
#include "s3_client.h"

#define S3_PREFETCH_BYTES (96u << 20)
#define S3_PREFETCH_SLOTS 24
/* How many chunks a sequential reader should name ahead of the one it
 * reads (backend.h, chunk_prefetch_depth): fewer than the slots, so its
 * hints find room while its workers hold a few. */
#define S3_PREFETCH_AHEAD 16

struct s3_prefetch;

/* A prefetcher over c for chunk files of at most cap bytes; its threads
 * start with the first hint.  NULL with the error set. */
struct s3_prefetch *s3_prefetch_new (struct s3_client *c, size_t cap);
/* Fetch chunk d (key its object's key) ahead, if there is room. */
void s3_prefetch_hint (struct s3_prefetch *pf, const struct digest *d,
                       const char *key);
/* The fetched copy of chunk d into buf, waiting if it is on its way: 1
 * copied, *len its length; -1 its fetch failed, the error set as the
 * GET left it; 0 it was not fetched, or does not fit in cap: the caller
 * GETs it itself. */
int s3_prefetch_take (struct s3_prefetch *pf, const struct digest *d,
                      unsigned char *buf, size_t cap, size_t *len);
/* A chunk_get's own GET succeeded: fetch ahead again if paused. */
void s3_prefetch_resume (struct s3_prefetch *pf);
/* Stop the threads (a GET under way ends first) and free everything. */
void s3_prefetch_free (struct s3_prefetch *pf);

#endif
