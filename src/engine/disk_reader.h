/* Random access to one disk of a backup: an offset maps to a chunk of
 * the disk's index (fixed-size chunks), whose content is fetched,
 * decoded and checked once and kept in a bounded cache of decoded
 * chunks shared by every reader thread.  What the NBD export serves
 * (src/export/).
 *
 * Thread-safe: any number of threads may read and ask for extents at
 * once.  Memory is bounded by the cache size, whatever the disk size.
 * A chunk that cannot be read or fails its checks fails the read of
 * its range (error set, kind from chunk_load: missing, damaged or
 * other); it is never cached, and nothing wrong is ever returned. */
#ifndef VMB_DISK_READER_H
#define VMB_DISK_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/manifest.h"

/* The default cache, in bytes, and the least number of chunks it holds
 * whatever the size asked for. */
#define DISK_READER_DEFAULT_CACHE (64 * 1024 * 1024)
#define DISK_READER_MIN_CHUNKS 2

struct disk_reader;

/* Open disk's index (checked: header, trailer hash, size against the
 * manifest) in repo, with a cache of about cache_bytes of decoded
 * chunks.  repo must stay open until disk_reader_close. */
struct disk_reader *disk_reader_open (struct repo *repo,
                                      const struct manifest_disk *disk,
                                      size_t cache_bytes);
void disk_reader_close (struct disk_reader *r);

uint64_t disk_reader_size (const struct disk_reader *r);
uint32_t disk_reader_chunk_size (const struct disk_reader *r);

/* Read len bytes at offset (inside the disk) into buf.  On failure the
 * error names the disk, the offset of the chunk and the cause. */
int disk_reader_read (struct disk_reader *r, void *buf, size_t len,
                      uint64_t offset);

/* Describe [offset, offset + len) as runs of data and zeros, from the
 * index alone (no chunk is read): fn is called for each run in order,
 * adjacent runs of the same kind merged; fn returning -1 stops and
 * makes this return -1. */
typedef int (*disk_extent_fn) (void *opaque, uint64_t offset, uint64_t len,
                               bool zero);
int disk_reader_extents (struct disk_reader *r, uint64_t offset, uint64_t len,
                         disk_extent_fn fn, void *opaque);

/* Counters, for tests and debugging: chunks decoded from the
 * repository, and reads answered from the cache. */
struct disk_reader_stats {
  uint64_t loads;
  uint64_t hits;
  size_t cached; /* chunks in the cache now */
  size_t capacity;
};
void disk_reader_get_stats (struct disk_reader *r,
                            struct disk_reader_stats *st);

#endif
