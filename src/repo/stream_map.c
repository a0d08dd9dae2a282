/* Stream maps (see stream_map.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "stream_map.h"

int
stream_map_writer_open (struct stream_map_writer *w, struct repo *repo)
{
  CLEANUP_FREE char *dir = repo_tmpdir (repo);

  w->tmppath = NULL;
  w->fd = dir ? tmpfile_create (dir, &w->tmppath) : -1;
  return w->fd == -1 ? -1 : 0;
}

int
stream_map_writer_set (struct stream_map_writer *w, uint64_t i, uint64_t end,
                       const struct digest *d)
{
  unsigned char e[STREAM_MAP_ENTRY];

  put_le64 (e, end);
  memcpy (e + 8, d->b, DIGEST_LEN);
  if (write_full (w->fd, e, sizeof e, i * STREAM_MAP_ENTRY) == -1) {
    set_error (errno, "write stream map");
    return -1;
  }
  return 0;
}

void
stream_map_writer_close (struct stream_map_writer *w)
{
  tmpfile_discard (&w->fd, &w->tmppath);
}

int
stream_map_open (struct stream_map *m, struct repo *repo,
                 const struct digest *id, uint64_t count, uint64_t size)
{
  uint64_t bytes;

  memset (m, 0, sizeof *m);
  m->repo = repo;
  m->index.fd = -1;
  m->count = count;
  m->size = size;
  m->cached = UINT64_MAX;
  if (__builtin_mul_overflow (count, STREAM_MAP_ENTRY, &bytes)
      || (count == 0) != (size == 0) || count > size) {
    set_error (0, "stream map: %llu chunks cannot hold %llu bytes",
               (unsigned long long) count, (unsigned long long) size);
    return -1;
  }
  if (index_reader_open (&m->index, repo, id) == -1)
    return -1;
  if (m->index.hdr.disk_size != bytes) {
    set_error (0, "stream map: index holds %llu bytes, expected %llu",
               (unsigned long long) m->index.hdr.disk_size,
               (unsigned long long) bytes);
    stream_map_close (m);
    return -1;
  }
  m->ctx = chunk_ctx_for_public (repo, 0);
  m->cache = malloc (repo->chunk_size);
  if (m->ctx == NULL || m->cache == NULL) {
    set_error (ENOMEM, "stream map");
    stream_map_close (m);
    return -1;
  }
  return 0;
}

void
stream_map_close (struct stream_map *m)
{
  index_reader_close (&m->index);
  chunk_ctx_free (m->ctx);
  free (m->cache);
  m->ctx = NULL;
  m->cache = NULL;
}

/* Bytes [off, off + len) of the map, across its fixed chunks. */
static int
read_map (struct stream_map *m, uint64_t off, unsigned char *out, size_t len)
{
  uint32_t csize = m->repo->chunk_size;

  while (len > 0) {
    uint64_t c = off / csize;
    size_t in = off % csize, n = csize - in;

    if (n > len)
      n = len;
    if (c != m->cached) {
      struct digest d;
      size_t raw;
      uint64_t want = m->index.hdr.disk_size - c * csize;

      if (want > csize)
        want = csize;
      m->cached = UINT64_MAX;
      if (index_reader_get (&m->index, c, &d) == -1)
        return -1;
      if (digest_is_zero (&d))
        memset (m->cache, 0, csize);
      else {
        if (chunk_load (m->repo, m->ctx, &d, m->cache, &raw) == -1) {
          error_prefix ("stream map");
          return -1;
        }
        if (raw != want) {
          set_error (0, "stream map: chunk %llu has %zu bytes, expected %llu",
                     (unsigned long long) c, raw, (unsigned long long) want);
          return -1;
        }
      }
      m->cached = c;
    }
    memcpy (out, m->cache + in, n);
    out += n;
    off += n;
    len -= n;
  }
  return 0;
}

static int
entry_end (struct stream_map *m, uint64_t i, uint64_t *end, struct digest *d)
{
  unsigned char e[STREAM_MAP_ENTRY];

  if (read_map (m, i * STREAM_MAP_ENTRY, e, sizeof e) == -1)
    return -1;
  *end = get_le64 (e);
  if (d)
    memcpy (d->b, e + 8, DIGEST_LEN);
  return 0;
}

int
stream_map_get (struct stream_map *m, uint64_t i, uint64_t *start,
                uint64_t *end, struct digest *d)
{
  if (i >= m->count) {
    set_error (EINVAL, "stream map: no chunk %llu", (unsigned long long) i);
    return -1;
  }
  *start = 0;
  if ((i > 0 && entry_end (m, i - 1, start, NULL) == -1)
      || entry_end (m, i, end, d) == -1)
    return -1;
  if (*end <= *start || *end - *start > m->repo->chunk_size || *end > m->size
      || (i == m->count - 1 && *end != m->size)) {
    set_error (0,
               "stream map: chunk %llu spans %llu..%llu of a %llu-byte "
               "stream",
               (unsigned long long) i, (unsigned long long) *start,
               (unsigned long long) *end, (unsigned long long) m->size);
    return -1;
  }
  return 0;
}

int
stream_map_find (struct stream_map *m, uint64_t off, uint64_t *i)
{
  uint64_t lo = 0, hi = m->count;

  if (off >= m->size) {
    set_error (0, "stream map: offset %llu past the end (%llu)",
               (unsigned long long) off, (unsigned long long) m->size);
    return -1;
  }
  /* The first entry whose end is past off.  Ends are checked to be
   * increasing only as entries are read, so a damaged map can mislead
   * the search; stream_map_get then reports it. */
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2, end;
    if (entry_end (m, mid, &end, NULL) == -1)
      return -1;
    if (end <= off)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo >= m->count) {
    set_error (0, "stream map: offset %llu not found",
               (unsigned long long) off);
    return -1;
  }
  *i = lo;
  return 0;
}
