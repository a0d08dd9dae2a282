/* Stream maps: the chunk list of a stream cut at content-defined points
 * (a file backup's data and its catalogue).
 *
 * Chunks of such a stream vary in length, so the fixed-slot index of a
 * disk cannot describe them.  A stream map is a flat array of 40-byte
 * entries, one per chunk in stream order:
 *
 *   0  u64 end: stream offset just past the chunk (strictly increasing;
 *      the chunk's length is end minus the previous entry's end, or end
 *      for the first, and is 1 to the repository chunk size)
 *   8  32-byte SHA-256 of the chunk (all zero: a zero chunk, not stored)
 *
 * The map itself is stored like a configuration file: cut in fixed
 * chunks under an ordinary index (index.h), so gc, verify and the
 * indexes/ directory need nothing new to keep it. */
#ifndef VMB_STREAM_MAP_H
#define VMB_STREAM_MAP_H

#include <stdint.h>

#include "chunk.h"
#include "common/digest.h"
#include "index.h"
#include "repo.h"

#define STREAM_MAP_ENTRY 40

/* The map being built, in a file under tmp/; entries may be set in any
 * order, from any thread. */
struct stream_map_writer {
  int fd;
  char *tmppath;
};

int stream_map_writer_open (struct stream_map_writer *w, struct repo *repo);
int stream_map_writer_set (struct stream_map_writer *w, uint64_t i,
                           uint64_t end, const struct digest *d);
/* Close and delete the temporary file. */
void stream_map_writer_close (struct stream_map_writer *w);

struct stream_map {
  struct repo *repo;
  struct index_reader index;
  struct chunk_ctx *ctx;
  uint64_t count;       /* chunks in the stream */
  uint64_t size;        /* stream length */
  unsigned char *cache; /* one chunk of the map itself */
  uint64_t cached;      /* its number, or UINT64_MAX */
};

/* Open the map stored under index id, which must describe count chunks
 * of a stream of size bytes (both from the manifest). */
int stream_map_open (struct stream_map *m, struct repo *repo,
                     const struct digest *id, uint64_t count, uint64_t size);
void stream_map_close (struct stream_map *m);
/* Entry i: its chunk spans [*start, *end) of the stream.  Lengths out of
 * range, offsets that go backwards and a last end that is not the
 * stream size are errors. */
int stream_map_get (struct stream_map *m, uint64_t i, uint64_t *start,
                    uint64_t *end, struct digest *d);
/* The entry whose chunk holds stream offset off (< size). */
int stream_map_find (struct stream_map *m, uint64_t off, uint64_t *i);

#endif
