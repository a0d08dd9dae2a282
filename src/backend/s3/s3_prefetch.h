/* Chunks fetched ahead of their chunk_get.  A reader that goes through
 * a disk in order (a disk restore, an NBD export) names the chunks it
 * will want next (chunk_prefetch); a few threads of the prefetcher's
 * own GET them meanwhile, so the cluster serves the next chunks while
 * the reader decrypts and decompresses the last ones.  Without it a
 * reader's threads do both in turn: over data that decompresses slowly
 * every thread decodes and the cluster idles, and over data that does
 * not, the threads wait on the cluster with the cores idle.
 *
 * Bounded: S3_PREFETCH_SLOTS chunk files at most, whatever the disk.  A
 * hint that finds every slot busy is dropped, and a fetched chunk that
 * nobody claimed is the first to make room.  A fetch that failed is not
 * reported: chunk_get asks again and reports the error itself, with its
 * kind (missing, damaged, other). */
#ifndef VMB_S3_PREFETCH_H
#define VMB_S3_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/digest.h"
#include "s3_client.h"

/* How many chunks a sequential reader should name ahead of the one it
 * reads: fewer than the slots, so its hints never push out a chunk
 * fetched for it and not yet claimed. */
#define S3_PREFETCH_SLOTS 24
#define S3_PREFETCH_AHEAD 16

struct s3_prefetch;

/* A prefetcher over c for chunk files of at most cap bytes; its threads
 * start with the first hint.  NULL with the error set. */
struct s3_prefetch *s3_prefetch_new (struct s3_client *c, size_t cap);
/* Fetch chunk d (key its object's key) ahead, if there is room. */
void s3_prefetch_hint (struct s3_prefetch *pf, const struct digest *d,
                       const char *key);
/* The fetched copy of chunk d into buf (waiting if it is on its way):
 * 1 copied, *len its length; 0 none, or its fetch failed, or it does
 * not fit in cap: the caller GETs it itself. */
int s3_prefetch_take (struct s3_prefetch *pf, const struct digest *d,
                      unsigned char *buf, size_t cap, size_t *len);
/* Stop the threads (a GET under way ends first) and free everything. */
void s3_prefetch_free (struct s3_prefetch *pf);

#endif
