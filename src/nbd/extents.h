/* A forward-only cursor over an NBD export's allocation map (block
 * status on "base:allocation", or later a dirty bitmap).  It asks the
 * server for a bounded window at a time, so memory does not grow with
 * the disk. */
#ifndef VMB_EXTENTS_H
#define VMB_EXTENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <libnbd.h>

#include "common/vector.h"

struct extent {
  uint64_t offset;
  uint64_t length;
  bool zero;                    /* reads as zeros: no need to read it */
};
DEFINE_VECTOR_TYPE (extent_vector, struct extent);

struct extent_cursor {
  struct nbd_handle *nbd;
  const char *context;          /* NULL: no block status, all data */
  uint64_t size;
  extent_vector window;         /* extents covering [win_start, win_end) */
  uint64_t win_start, win_end;
};

void extent_cursor_init (struct extent_cursor *c, struct nbd_handle *nbd,
                         uint64_t size, const char *context);
/* The extents covering [offset, offset+len), clipped to it, into *out
 * (reset first).  Offsets must not go backwards between calls. */
int extent_cursor_get (struct extent_cursor *c, uint64_t offset, uint64_t len,
                       extent_vector *out);
void extent_cursor_free (struct extent_cursor *c);

#endif
