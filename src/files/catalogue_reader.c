/* Catalogue reader (see catalogue_reader.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "catalogue_reader.h"

/* The checks between records, shared with catalogue_check_buffer. */
static int
check_order (char **last_path, struct file_entry *e)
{
  if (*last_path && catalogue_path_cmp (*last_path, e->path) >= 0) {
    set_error (0, "catalogue out of order at %s", e->path);
    return -1;
  }
  if ((e->flags & ENTRY_HARDLINK)
      && (*last_path == NULL
          || catalogue_path_cmp (e->target, *last_path) > 0)) {
    set_error (0, "catalogue: hard link %s to a later entry", e->path);
    return -1;
  }
  free (*last_path);
  *last_path = strdup (e->path);
  if (*last_path == NULL) {
    set_error (ENOMEM, "catalogue");
    return -1;
  }
  return 0;
}

int
catalogue_reader_open (struct catalogue_reader *r, struct repo *repo,
                       const struct manifest_archive *a)
{
  unsigned char magic[CATALOGUE_MAGIC_LEN];

  memset (r, 0, sizeof *r);
  r->size = a->catalogue_size;
  r->expected = a->entries;
  if (stream_reader_open (&r->stream, repo, "catalogue", &a->catalogue_map,
                          a->catalogue_chunks, a->catalogue_size)
      == -1)
    return -1;
  if (r->size < CATALOGUE_MAGIC_LEN)
    set_error (0, "catalogue truncated");
  else if (stream_reader_read (&r->stream, 0, magic, sizeof magic) == 0) {
    if (memcmp (magic, CATALOGUE_MAGIC, CATALOGUE_MAGIC_LEN) == 0) {
      r->pos = CATALOGUE_MAGIC_LEN;
      return 0;
    }
    set_error (0, "not a catalogue (bad magic)");
  }
  stream_reader_close (&r->stream);
  return -1;
}

int
catalogue_reader_next (struct catalogue_reader *r, struct file_entry *e)
{
  unsigned char hdr[4];
  uint32_t len;

  if (r->pos == r->size) {
    if (r->seen != r->expected) {
      set_error (0, "catalogue has %llu entries, the manifest says %llu",
                 (unsigned long long) r->seen,
                 (unsigned long long) r->expected);
      return -1;
    }
    return 0;
  }
  if (r->size - r->pos < 4) {
    set_error (0, "catalogue truncated");
    return -1;
  }
  if (stream_reader_read (&r->stream, r->pos, hdr, 4) == -1)
    return -1;
  len = get_le32 (hdr);
  if (len > CATALOGUE_MAX_RECORD || r->size - r->pos - 4 < len) {
    set_error (0, "catalogue record at %llu: bad length %u",
               (unsigned long long) r->pos, len);
    return -1;
  }
  if (len > r->body_cap) {
    unsigned char *nb = realloc (r->body, len);
    if (nb == NULL) {
      set_error (ENOMEM, "catalogue");
      return -1;
    }
    r->body = nb;
    r->body_cap = len;
  }
  if (stream_reader_read (&r->stream, r->pos + 4, r->body, len) == -1)
    return -1;
  if (catalogue_decode (r->body, len, &r->state, e) == -1)
    return -1;
  if (check_order (&r->last_path, e) == -1) {
    file_entry_release (e);
    return -1;
  }
  r->pos += 4 + len;
  r->seen++;
  return 1;
}

void
catalogue_reader_close (struct catalogue_reader *r)
{
  stream_reader_close (&r->stream);
  free (r->last_path);
  free (r->body);
  r->last_path = NULL;
  r->body = NULL;
}

int64_t
catalogue_check_buffer (const unsigned char *buf, size_t len)
{
  size_t pos = CATALOGUE_MAGIC_LEN;
  struct catalogue_state state = { 0 };
  char *last = NULL;
  int64_t n = 0;

  if (len < CATALOGUE_MAGIC_LEN
      || memcmp (buf, CATALOGUE_MAGIC, CATALOGUE_MAGIC_LEN) != 0) {
    set_error (0, "not a catalogue (bad magic)");
    return -1;
  }
  while (pos < len) {
    struct file_entry e = { 0 };
    uint32_t rl;

    if (len - pos < 4 || (rl = get_le32 (buf + pos)) > len - pos - 4) {
      set_error (0, "catalogue truncated");
      n = -1;
      break;
    }
    if (catalogue_decode (buf + pos + 4, rl, &state, &e) == -1) {
      n = -1;
      break;
    }
    if (check_order (&last, &e) == -1) {
      file_entry_release (&e);
      n = -1;
      break;
    }
    file_entry_release (&e);
    pos += 4 + rl;
    n++;
  }
  free (last);
  return n;
}
