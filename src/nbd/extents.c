/* Block-status cursor (see extents.h). */
#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "extents.h"

/* Ask for this much at a time: large enough that a mostly empty disk
 * costs few round trips, small enough to bound the extent list. */
#define WINDOW (1ULL << 30)

#define STATE_HOLE 1
#define STATE_ZERO 2
#define STATE_DIRTY 1 /* the one flag of a dirty-bitmap context */

void
extent_cursor_init (struct extent_cursor *c, struct nbd_handle *nbd,
                    uint64_t size, const char *context)
{
  memset (c, 0, sizeof *c);
  c->nbd = nbd;
  c->size = size;
  c->context = context;
}

void
extent_cursor_free (struct extent_cursor *c)
{
  extent_vector_reset (&c->window);
}

struct fetch {
  struct extent_cursor *c;
  int failed;
};

static int
on_extents (void *opaque, const char *metacontext, uint64_t offset,
            uint32_t *entries, size_t nr, int *error)
{
  struct fetch *f = opaque;
  struct extent_cursor *c = f->c;
  bool bitmap = strncmp (c->context, DIRTY_BITMAP_PREFIX,
                         strlen (DIRTY_BITMAP_PREFIX))
    == 0;

  if (strcmp (metacontext, c->context) != 0)
    return 0;
  for (size_t i = 0; i + 1 < nr; i += 2) {
    uint32_t flags = entries[i + 1];
    struct extent e = { .offset = offset,
                        .length = entries[i],
                        .zero = !bitmap && (flags & STATE_ZERO) != 0,
                        .dirty = bitmap && (flags & STATE_DIRTY) != 0 };
    if (e.length == 0)
      break;
    if (extent_vector_append (&c->window, e) == -1) {
      f->failed = ENOMEM;
      *error = ENOMEM;
      return -1;
    }
    offset += e.length;
  }
  return 0;
}

/* Replace the window with extents starting exactly at offset. */
static int
fetch_window (struct extent_cursor *c, uint64_t offset)
{
  uint64_t count = c->size - offset;
  struct fetch f = { .c = c };

  if (count > WINDOW)
    count = WINDOW;
  c->window.len = 0;
  if (c->context == NULL) {
    struct extent e = { .offset = offset, .length = count, .zero = false };
    if (extent_vector_append (&c->window, e) == -1)
      goto oom;
  }
  else if (nbd_block_status (c->nbd, count, offset,
                             (nbd_extent_callback) { .callback = on_extents,
                                                     .user_data = &f },
                             0)
           == -1) {
    set_error (0, "block status at offset %llu: %s",
               (unsigned long long) offset, nbd_get_error ());
    return -1;
  }
  if (f.failed)
    goto oom;
  if (c->window.len == 0) {
    set_error (0, "block status at offset %llu: server returned no extents",
               (unsigned long long) offset);
    return -1;
  }
  c->win_start = offset;
  c->win_end = offset;
  for (size_t i = 0; i < c->window.len; i++) {
    /* Servers may describe past the request; clip so the window never
     * claims more than the disk. */
    if (c->window.ptr[i].offset + c->window.ptr[i].length > c->size)
      c->window.ptr[i].length = c->size - c->window.ptr[i].offset;
    c->win_end = c->window.ptr[i].offset + c->window.ptr[i].length;
  }
  return 0;

oom:
  set_error (ENOMEM, "block status");
  return -1;
}

int
extent_cursor_get (struct extent_cursor *c, uint64_t offset, uint64_t len,
                   extent_vector *out)
{
  uint64_t end = offset + len, pos = offset;

  out->len = 0;
  while (pos < end) {
    if (pos < c->win_start || pos >= c->win_end) {
      if (fetch_window (c, pos) == -1)
        return -1;
    }
    for (size_t i = 0; i < c->window.len && pos < end; i++) {
      struct extent e = c->window.ptr[i];
      uint64_t e_end = e.offset + e.length;
      if (e_end <= pos)
        continue;
      if (e.offset > pos) {
        set_error (0, "block status left a gap at offset %llu",
                   (unsigned long long) pos);
        return -1;
      }
      e.offset = pos;
      e.length = (e_end < end ? e_end : end) - pos;
      /* Merge with the previous piece when of the same kind. */
      if (out->len && out->ptr[out->len - 1].zero == e.zero
          && out->ptr[out->len - 1].dirty == e.dirty)
        out->ptr[out->len - 1].length += e.length;
      else if (extent_vector_append (out, e) == -1) {
        set_error (ENOMEM, "extents");
        return -1;
      }
      pos += e.length;
    }
  }
  return 0;
}

int
extent_cursor_any_dirty (struct extent_cursor *c, uint64_t offset,
                         uint64_t len, extent_vector *scratch, bool *dirty)
{
  if (extent_cursor_get (c, offset, len, scratch) == -1)
    return -1;
  *dirty = false;
  for (size_t i = 0; i < scratch->len; i++)
    *dirty |= scratch->ptr[i].dirty;
  return 0;
}
