/* Stream reader (see stream_reader.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "stream_reader.h"

int
stream_reader_open (struct stream_reader *r, struct repo *repo,
                    const char *what, const struct digest *map,
                    uint64_t chunks, uint64_t size)
{
  memset (r, 0, sizeof *r);
  r->repo = repo;
  r->what = what;
  r->cur = UINT64_MAX;
  if (stream_map_open (&r->map, repo, map, chunks, size) == -1) {
    error_prefix ("%s stream", what);
    return -1;
  }
  r->ctx = chunk_ctx_for (repo, 0);
  r->buf = malloc (repo->chunk_size);
  if (r->ctx == NULL || r->buf == NULL) {
    set_error (ENOMEM, "%s stream", what);
    stream_reader_close (r);
    return -1;
  }
  return 0;
}

void
stream_reader_close (struct stream_reader *r)
{
  stream_map_close (&r->map);
  chunk_ctx_free (r->ctx);
  free (r->buf);
  r->ctx = NULL;
  r->buf = NULL;
}

/* Chunks to ask for ahead of the one being read (chunk_prefetch). */
#define LOOKAHEAD 6

static void
prefetch_after (struct stream_reader *r, uint64_t i)
{
  uint64_t start, end;
  struct digest d;

  if (r->ahead < i + 1)
    r->ahead = i + 1;
  for (; r->ahead <= i + LOOKAHEAD && r->ahead < r->map.count; r->ahead++) {
    if (stream_map_get (&r->map, r->ahead, &start, &end, &d) == -1)
      return; /* reported when that chunk is read */
    if (!digest_is_zero (&d))
      chunk_prefetch (r->repo, &d);
  }
}

/* Make the chunk holding off the cached one. */
static int
load (struct stream_reader *r, uint64_t off)
{
  uint64_t i, start, end;
  struct digest d;
  size_t raw;

  if (r->cur != UINT64_MAX && off >= r->cur_end && r->cur + 1 < r->map.count
      && off < r->cur_end + r->repo->chunk_size)
    i = r->cur + 1; /* reading on: most likely the next one */
  else if (stream_map_find (&r->map, off, &i) == -1)
    return -1;
  if (stream_map_get (&r->map, i, &start, &end, &d) == -1)
    return -1;
  if (off < start || off >= end) {
    if (stream_map_find (&r->map, off, &i) == -1
        || stream_map_get (&r->map, i, &start, &end, &d) == -1)
      return -1;
    if (off < start || off >= end) {
      set_error (0, "stream map out of order at chunk %llu",
                 (unsigned long long) i);
      return -1;
    }
  }
  r->cur = UINT64_MAX;
  if (chunk_prefetch_useful (r->repo))
    prefetch_after (r, i);
  if (digest_is_zero (&d))
    memset (r->buf, 0, end - start);
  else {
    if (chunk_load (r->repo, r->ctx, &d, r->buf, &raw) == -1)
      return -1;
    if (raw != end - start) {
      set_error (0, "chunk has %zu bytes, the map says %llu", raw,
                 (unsigned long long) (end - start));
      return -1;
    }
  }
  r->cur = i;
  r->cur_start = start;
  r->cur_end = end;
  return 0;
}

int
stream_reader_peek (struct stream_reader *r, uint64_t off,
                    const unsigned char **p, size_t *n, size_t max)
{
  if (r->cur == UINT64_MAX || off < r->cur_start || off >= r->cur_end) {
    if (load (r, off) == -1) {
      error_prefix ("%s stream offset %llu", r->what,
                    (unsigned long long) off);
      return -1;
    }
  }
  *p = r->buf + (off - r->cur_start);
  *n = r->cur_end - off < max ? r->cur_end - off : max;
  return 0;
}

int
stream_reader_read (struct stream_reader *r, uint64_t off, void *out,
                    size_t len)
{
  unsigned char *o = out;

  while (len > 0) {
    const unsigned char *p;
    size_t n;

    if (stream_reader_peek (r, off, &p, &n, len) == -1)
      return -1;
    memcpy (o, p, n);
    o += n;
    off += n;
    len -= n;
  }
  return 0;
}
