/* The structural check of a backup against what it names (see
 * backup_check.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "backup_check.h"
#include "chunk.h"
#include "index.h"
#include "stream_map.h"

struct check {
  struct repo *repo;
  const struct manifest *m;
  struct digest_set *full;
  unsigned char *buf; /* whole chunk files, when the backend has no
                       * chunk_head */
};

/* The header of stored chunk d and the length of its file. */
static int
read_head (struct check *c, const struct digest *d,
           unsigned char hdr[CHUNK_HEADER_LEN], uint64_t *filelen)
{
  struct backend *be = c->repo->be;
  size_t cap = CHUNK_FILE_MAX (c->repo->chunk_size), len;

  if (be->ops->chunk_head)
    return be->ops->chunk_head (be, d, hdr, CHUNK_HEADER_LEN, filelen);
  if (c->buf == NULL && (c->buf = malloc (cap)) == NULL) {
    set_error (ENOMEM, "check backup");
    return -1;
  }
  if (chunk_read_file (c->repo, d, c->buf, cap, &len) == -1)
    return -1;
  memcpy (hdr, c->buf, CHUNK_HEADER_LEN);
  *filelen = len;
  return 0;
}

/* Chunk d, slot i of what, must be stored with want raw bytes (a zero
 * digest is a chunk of zeros that is never stored).  In an encrypted
 * repository a stream map's chunks are stored in the clear (version 1,
 * so that gc reads them without the key) and every other chunk sealed
 * (version 2): the server takes both at upload, since it cannot tell
 * them apart there, and holds each reference to its kind here.  Only
 * data chunks go into the full set, so a map chunk cannot vouch for a
 * data reference to the same name. */
static int
check_chunk (struct check *c, const char *what, uint64_t i,
             const struct digest *d, uint64_t want, bool map)
{
  unsigned char hdr[CHUNK_HEADER_LEN];
  char hex[DIGEST_HEX_LEN + 1];
  struct chunk_header h;
  uint64_t filelen;
  bool full = want == c->repo->chunk_size && !map;
  unsigned version = c->repo->encryption && !map ? 2 : 1;

  if (digest_is_zero (d) || (full && c->full && digest_set_get (c->full, d)))
    return 0;
  digest_to_hex (d, hex);
  /* chunk_header_parse reads the header only; the file length stands
   * for the buffer length in its payload size checks. */
  if (read_head (c, d, hdr, &filelen) == -1
      || chunk_header_parse (hdr, filelen, c->repo->chunk_size, &h) == -1) {
    error_prefix ("%s: chunk %llu (%.16s)", what, (unsigned long long) i, hex);
    return -1;
  }
  if (h.version != version) {
    set_error (0, "%s: chunk %llu (%.16s) is %s", what, (unsigned long long) i,
               hex,
               version == 2 ? "stored in the clear in an encrypted repository"
                            : "encrypted where the clear belongs");
    return -1;
  }
  if (h.raw_size != want) {
    set_error (0, "%s: chunk %llu (%.16s) has %u bytes, the backup says %llu",
               what, (unsigned long long) i, hex, h.raw_size,
               (unsigned long long) want);
    return -1;
  }
  if (full && c->full && digest_set_add (c->full, d, 1) == -1)
    return -1;
  return 0;
}

/* Index id of something of size bytes, and every chunk it names. */
static int
check_index (struct check *c, const char *what, const struct digest *id,
             uint64_t size, bool map)
{
  uint32_t csize = c->repo->chunk_size;
  struct index_reader ir;
  struct digest d;
  int r = 0;

  if (index_reader_open (&ir, c->repo, id) == -1) {
    error_prefix ("%s", what);
    return -1;
  }
  if (ir.hdr.disk_size != size) {
    set_error (0, "%s: index holds %llu bytes, the backup says %llu", what,
               (unsigned long long) ir.hdr.disk_size,
               (unsigned long long) size);
    r = -1;
  }
  for (uint64_t i = 0; r == 0 && i < ir.hdr.chunk_count; i++) {
    uint64_t want = size - i * csize < csize ? size - i * csize : csize;
    r = index_reader_get (&ir, i, &d) == -1
      ? -1
      : check_chunk (c, what, i, &d, want, map);
  }
  index_reader_close (&ir);
  return r;
}

/* A file backup's stream: its map, then every chunk the map names. */
static int
check_stream (struct check *c, const char *what, const struct digest *map_id,
              uint64_t count, uint64_t size)
{
  struct stream_map map;
  uint64_t start, end, bytes;
  struct digest d;
  int r = 0;

  if (__builtin_mul_overflow (count, STREAM_MAP_ENTRY, &bytes)) {
    set_error (0, "%s: %llu chunks is too many", what,
               (unsigned long long) count);
    return -1;
  }
  if (check_index (c, what, map_id, bytes, true) == -1)
    return -1;
  if (stream_map_open (&map, c->repo, map_id, count, size) == -1) {
    error_prefix ("%s", what);
    return -1;
  }
  /* stream_map_get checks each entry against the one before it and
   * the last against the stream size. */
  for (uint64_t i = 0; r == 0 && i < count; i++) {
    r = stream_map_get (&map, i, &start, &end, &d);
    if (r == -1)
      error_prefix ("%s", what);
    else
      r = check_chunk (c, what, i, &d, end - start, false);
  }
  stream_map_close (&map);
  return r;
}

int
backup_check (struct repo *repo, const struct manifest *m,
              struct digest_set *full)
{
  struct check c = { .repo = repo, .m = m, .full = full };
  char what[256];
  int r = 0;

  for (size_t i = 0; r == 0 && i < m->disks.len; i++) {
    snprintf (what, sizeof what, "disk %s", m->disks.ptr[i].name);
    r = check_index (&c, what, &m->disks.ptr[i].index, m->disks.ptr[i].size,
                     false);
  }
  for (size_t i = 0; r == 0 && i < m->files.len; i++) {
    snprintf (what, sizeof what, "file %s", m->files.ptr[i].role);
    r = check_index (&c, what, &m->files.ptr[i].index, m->files.ptr[i].size,
                     false);
  }
  if (r == 0 && m->archive.present)
    r = check_stream (&c, "data stream", &m->archive.data_map,
                      m->archive.data_chunks, m->archive.data_size);
  if (r == 0 && m->archive.present)
    r = check_stream (&c, "catalogue stream", &m->archive.catalogue_map,
                      m->archive.catalogue_chunks, m->archive.catalogue_size);
  free (c.buf);
  return r;
}
