/* Files with more than one link, by device and inode: the first path
 * seen is stored with its data, later ones as links to it (carrying the
 * same data reference, so that a restore of only the later path still
 * has the contents).  Memory grows with the number of multiply-linked
 * files only. */
#ifndef VMB_HARDLINKS_H
#define VMB_HARDLINKS_H

#include <stddef.h>
#include <sys/types.h>

#include "catalogue.h"

struct hardlink {
  dev_t dev;
  ino_t ino;
  char *path; /* NULL: empty slot */
  uint64_t size, data_offset;
  extent_vector extents;
};

struct hardlinks {
  struct hardlink *slots;
  size_t cap, len;
};

void hardlinks_init (struct hardlinks *h);
void hardlinks_free (struct hardlinks *h);
const struct hardlink *hardlinks_find (const struct hardlinks *h, dev_t dev,
                                       ino_t ino);
/* Remember e (a regular file just stored) as the first path of dev:ino. */
int hardlinks_add (struct hardlinks *h, dev_t dev, ino_t ino,
                   const struct file_entry *e);

#endif
