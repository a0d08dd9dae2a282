/* FastCDC cuts: every chunk within [min, max], the same input always
 * cut the same way, and an insertion near the start changes only the
 * chunks around it: the rest are found again (what makes a second file
 * backup small). */
#include <stdlib.h>
#include <string.h>

#include "files/cdc.h"
#include "test.h"

#define LEN (24u << 20)
#define MAXCUTS 4096

static size_t
cut_all (const struct cdc_params *p, const unsigned char *buf, size_t len,
         size_t *cuts)
{
  size_t n = 0, off = 0;

  while (off < len) {
    size_t left = len - off;
    size_t c = cdc_cut (p, buf + off, left, true);
    CHECK (c >= 1 && c <= p->max, "chunk of %zu bytes", c);
    CHECK (c >= p->min || c == left, "short chunk %zu not at the end", c);
    /* Not at eof with less than max buffered: must ask for more. */
    if (left < p->max && left > p->min)
      CHECK (cdc_cut (p, buf + off, left, false) == 0, "cut without a window");
    off += c;
    CHECK (n < MAXCUTS, "too many chunks");
    cuts[n++] = off;
  }
  return n;
}

int
main (void)
{
  struct cdc_params p, small;
  unsigned char *a = malloc (LEN + 100), *b = malloc (LEN + 100);
  static size_t ca[MAXCUTS], cb[MAXCUTS];
  size_t na, nb, same = 0;

  CHECK (a && b, "malloc");
  test_fill_random (a, LEN);
  cdc_params_for_data (&p, 4 << 20);
  CHECK (p.min == 256 << 10 && p.avg == 1 << 20 && p.max == 4 << 20,
         "data params %zu/%zu/%zu", p.min, p.avg, p.max);
  cdc_params_for_data (&small, 64 << 10);
  CHECK (small.max == 64 << 10, "max above a 64K repository chunk: %zu",
         small.max);
  cdc_params_for_catalogue (&small, 4 << 20);
  CHECK (small.avg == 64 << 10, "catalogue avg %zu", small.avg);

  na = cut_all (&p, a, LEN, ca);
  /* Normalized chunking keeps the average near 1 MiB. */
  CHECK (na >= 12 && na <= 40, "%zu chunks for 24 MiB", na);
  CHECK (cut_all (&p, a, LEN, cb) == na && memcmp (ca, cb, na * sizeof *ca) == 0,
         "not deterministic");

  /* Insert 100 bytes at 3 MiB. */
  memcpy (b, a, 3 << 20);
  memset (b + (3 << 20), 'x', 100);
  memcpy (b + (3 << 20) + 100, a + (3 << 20), LEN - (3 << 20));
  nb = cut_all (&p, b, LEN + 100, cb);
  for (size_t i = 0; i < na; i++)
    for (size_t k = 0; k < nb; k++)
      if ((ca[i] <= (3u << 20) && cb[k] == ca[i])
          || (ca[i] > (3u << 20) && cb[k] == ca[i] + 100))
        same++;
  /* The chunk holding the insertion changes, perhaps its neighbour. */
  CHECK (same + 2 >= na, "only %zu of %zu cut points found again", same, na);

  /* All zero input: cut at max (no hash hit). */
  memset (a, 0, LEN);
  CHECK (cdc_cut (&p, a, LEN, false) == p.max, "zeros");
  free (a);
  free (b);
  return 0;
}
