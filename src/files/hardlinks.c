/* Hard link table (see hardlinks.h): open addressing, grown at half
 * full. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "hardlinks.h"

void
hardlinks_init (struct hardlinks *h)
{
  memset (h, 0, sizeof *h);
}

void
hardlinks_free (struct hardlinks *h)
{
  for (size_t i = 0; i < h->cap; i++)
    if (h->slots[i].path) {
      free (h->slots[i].path);
      extent_vector_reset (&h->slots[i].extents);
    }
  free (h->slots);
  memset (h, 0, sizeof *h);
}

static size_t
slot_of (const struct hardlinks *h, dev_t dev, ino_t ino)
{
  uint64_t x = (uint64_t) ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t) dev;
  size_t i = (x ^ (x >> 29)) & (h->cap - 1);

  while (h->slots[i].path
         && (h->slots[i].dev != dev || h->slots[i].ino != ino))
    i = (i + 1) & (h->cap - 1);
  return i;
}

const struct hardlink *
hardlinks_find (const struct hardlinks *h, dev_t dev, ino_t ino)
{
  size_t i;

  if (h->cap == 0)
    return NULL;
  i = slot_of (h, dev, ino);
  return h->slots[i].path ? &h->slots[i] : NULL;
}

static int
grow (struct hardlinks *h)
{
  struct hardlinks bigger = { .cap = h->cap ? h->cap * 2 : 64 };

  bigger.slots = calloc (bigger.cap, sizeof *bigger.slots);
  if (bigger.slots == NULL)
    return -1;
  for (size_t i = 0; i < h->cap; i++)
    if (h->slots[i].path)
      bigger.slots[slot_of (&bigger, h->slots[i].dev, h->slots[i].ino)]
        = h->slots[i];
  bigger.len = h->len;
  free (h->slots);
  *h = bigger;
  return 0;
}

int
hardlinks_add (struct hardlinks *h, dev_t dev, ino_t ino,
               const struct file_entry *e)
{
  struct hardlink *s;

  if ((h->len + 1) * 2 > h->cap && grow (h) == -1)
    goto oom;
  s = &h->slots[slot_of (h, dev, ino)];
  memset (s, 0, sizeof *s);
  if (extent_vector_reserve (&s->extents, e->extents.len) == -1)
    goto oom;
  if ((s->path = strdup (e->path)) == NULL) {
    extent_vector_reset (&s->extents);
    goto oom;
  }
  if (e->extents.len)
    memcpy (s->extents.ptr, e->extents.ptr,
            e->extents.len * sizeof *e->extents.ptr);
  s->extents.len = e->extents.len;
  s->dev = dev;
  s->ino = ino;
  s->size = e->size;
  s->data_offset = e->data_offset;
  h->len++;
  return 0;
oom:
  set_error (ENOMEM, "hard link table");
  return -1;
}
