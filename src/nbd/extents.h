/* A forward-only cursor over an NBD export's block status: the
 * allocation map ("base:allocation") or a dirty bitmap
 * ("qemu:dirty-bitmap:NAME", what changed since a checkpoint).  It asks
 * the server for a bounded window at a time, so memory does not grow
 * with the disk. */
#ifndef VMB_EXTENTS_H
#define VMB_EXTENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <libnbd.h>

#include "common/vector.h"

struct extent {
  uint64_t offset;
  uint64_t length;
  bool zero;  /* allocation: reads as zeros, no need to
                                 * read it */
  bool dirty; /* dirty bitmap: changed since the
                                 * checkpoint */
};
DEFINE_VECTOR_TYPE (extent_vector, struct extent);

struct extent_cursor {
  struct nbd_handle *nbd;
  const char *context; /* NULL: no block status, all data */
  uint64_t size;
  extent_vector window; /* extents covering [win_start, win_end) */
  uint64_t win_start, win_end;
};

void extent_cursor_init (struct extent_cursor *c, struct nbd_handle *nbd,
                         uint64_t size, const char *context);
/* The extents covering [offset, offset+len), clipped to it, into *out
 * (reset first).  Offsets must not go backwards between calls. */
int extent_cursor_get (struct extent_cursor *c, uint64_t offset, uint64_t len,
                       extent_vector *out);
/* Does [offset, offset+len) hold any dirty byte?  (Dirty-bitmap
 * cursors; same ordering rule as extent_cursor_get.) */
int extent_cursor_any_dirty (struct extent_cursor *c, uint64_t offset,
                             uint64_t len, extent_vector *scratch,
                             bool *dirty);
void extent_cursor_free (struct extent_cursor *c);

#define DIRTY_BITMAP_PREFIX "qemu:dirty-bitmap:"

#endif
