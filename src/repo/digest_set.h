/* A set of digests (open addressing): the chunks gc must keep, the
 * chunks verify has already checked. */
#ifndef VMB_DIGEST_SET_H
#define VMB_DIGEST_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"

struct digest_set {
  struct digest *slots; /* the zero digest marks an empty slot */
  unsigned char *tags;  /* per slot: user value, 0 when empty */
  uint32_t *values;     /* per slot, if the set keeps values, else NULL */
  bool with_values;
  size_t cap, len;
};

void digest_set_init (struct digest_set *s);
/* A set that also keeps a 32-bit value per digest (4 more bytes per
 * slot): verify keeps each checked chunk's length. */
void digest_set_init_values (struct digest_set *s);
void digest_set_free (struct digest_set *s);
/* Add d with tag (1..255); the zero digest is never stored. */
int digest_set_add (struct digest_set *s, const struct digest *d,
                    unsigned char tag);
/* 0 when absent, else the tag. */
unsigned char digest_set_get (const struct digest_set *s,
                              const struct digest *d);
/* The same for a set made by digest_set_init_values, with the value. */
int digest_set_add_value (struct digest_set *s, const struct digest *d,
                          unsigned char tag, uint32_t value);
unsigned char digest_set_get_value (const struct digest_set *s,
                                    const struct digest *d, uint32_t *value);

#endif
