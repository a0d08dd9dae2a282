/* Reading a content-defined stream back: any byte range, by way of its
 * stream map, one decoded chunk cached (reads in stream order touch each
 * chunk once). */
#ifndef VMB_STREAM_READER_H
#define VMB_STREAM_READER_H

#include <stdint.h>

#include "repo/stream_map.h"

struct stream_reader {
  struct repo *repo;
  struct stream_map map;
  struct chunk_ctx *ctx;
  unsigned char *buf; /* the cached chunk */
  uint64_t cur;       /* its number, or UINT64_MAX */
  uint64_t cur_start, cur_end;
  uint64_t ahead;   /* chunks before this one were prefetched */
  const char *what; /* "data" or "catalogue", for errors */
};

int stream_reader_open (struct stream_reader *r, struct repo *repo,
                        const char *what, const struct digest *map,
                        uint64_t chunks, uint64_t size);
void stream_reader_close (struct stream_reader *r);
int stream_reader_read (struct stream_reader *r, uint64_t off, void *out,
                        size_t len);
/* Point *p at the bytes from off on inside the cached chunk, without a
 * copy; *n (>= 1) is how many there are, at most max. */
int stream_reader_peek (struct stream_reader *r, uint64_t off,
                        const unsigned char **p, size_t *n, size_t max);

#endif
