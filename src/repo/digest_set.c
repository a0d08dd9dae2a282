/* Digest set (see digest_set.h).  Digests are uniformly distributed, so
 * their first 8 bytes are the hash. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "digest_set.h"

void
digest_set_init (struct digest_set *s)
{
  memset (s, 0, sizeof *s);
}

void
digest_set_init_values (struct digest_set *s)
{
  digest_set_init (s);
  s->with_values = true;
}

void
digest_set_free (struct digest_set *s)
{
  bool with_values = s->with_values;

  free (s->slots);
  free (s->tags);
  free (s->values);
  digest_set_init (s);
  s->with_values = with_values;
}

static size_t
find (const struct digest_set *s, const struct digest *d)
{
  size_t mask = s->cap - 1, i = get_le64 (d->b) & mask;

  while (s->tags[i] && digest_cmp (&s->slots[i], d) != 0)
    i = (i + 1) & mask;
  return i;
}

static int
grow (struct digest_set *s)
{
  struct digest_set n;

  n.cap = s->cap ? s->cap * 2 : 1024;
  n.len = 0;
  n.with_values = s->with_values;
  n.slots = calloc (n.cap, sizeof *n.slots);
  n.tags = calloc (n.cap, 1);
  n.values = n.with_values ? calloc (n.cap, sizeof *n.values) : NULL;
  if (n.slots == NULL || n.tags == NULL
      || (n.with_values && n.values == NULL)) {
    free (n.slots);
    free (n.tags);
    free (n.values);
    set_error (ENOMEM, "digest set");
    return -1;
  }
  for (size_t i = 0; i < s->cap; i++)
    if (s->tags[i]) {
      size_t j = find (&n, &s->slots[i]);
      n.slots[j] = s->slots[i];
      n.tags[j] = s->tags[i];
      if (n.with_values)
        n.values[j] = s->values[i];
      n.len++;
    }
  free (s->slots);
  free (s->tags);
  free (s->values);
  *s = n;
  return 0;
}

static int
add (struct digest_set *s, const struct digest *d, unsigned char tag,
     uint32_t value)
{
  size_t i;

  if (digest_is_zero (d))
    return 0;
  if ((s->len + 1) * 4 > s->cap * 3 && grow (s) == -1)
    return -1;
  i = find (s, d);
  if (!s->tags[i]) {
    s->slots[i] = *d;
    s->len++;
  }
  s->tags[i] = tag;
  if (s->with_values)
    s->values[i] = value;
  return 0;
}

int
digest_set_add (struct digest_set *s, const struct digest *d,
                unsigned char tag)
{
  return add (s, d, tag, 0);
}

int
digest_set_add_value (struct digest_set *s, const struct digest *d,
                      unsigned char tag, uint32_t value)
{
  return add (s, d, tag, value);
}

unsigned char
digest_set_get (const struct digest_set *s, const struct digest *d)
{
  if (s->cap == 0)
    return 0;
  return s->tags[find (s, d)];
}

unsigned char
digest_set_get_value (const struct digest_set *s, const struct digest *d,
                      uint32_t *value)
{
  size_t i;

  *value = 0;
  if (s->cap == 0)
    return 0;
  i = find (s, d);
  if (s->tags[i] && s->with_values)
    *value = s->values[i];
  return s->tags[i];
}
