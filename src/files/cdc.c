/* FastCDC (see cdc.h).
 *
 * Why these sizes.  Every chunk costs a file in chunks/ (an inode, a
 * directory entry, on average half a file-system block of slack, one
 * open/rename/utimensat per backup that meets it) and 40 bytes in the
 * stream map; every changed byte costs re-storing the chunk around it.
 * With files packed into one stream, a change to one small file costs
 * about one average chunk of new data, and 1 GiB of data costs about
 * 1000 chunk files.  Averages of 1 MiB are what restic (512 KiB to
 * 8 MiB) and borg (2 MiB) settled on for the same trade-off;
 * we take a 1 MiB average with min 256 KiB and max 4 MiB, which keeps
 * the maximum within the default repository chunk size (chunk files are
 * at most one repository chunk long) and the normalized distribution
 * narrow: most chunks fall between 512 KiB and 2 MiB.
 *
 * The catalogue changes in small places (one file's mtime) and is much
 * smaller than the data, so it gets 64 KiB chunks: a changed entry
 * re-stores 64 KiB of metadata, not a megabyte.
 *
 * The gear table is 256 values of splitmix64 from seed 0: any table
 * works, but changing it changes every cut and so defeats dedup against
 * older backups.  An encrypted repository keys it (crypt_cdc_gear):
 * with a public table, the lengths of the chunks of a known file are
 * known, and stored chunk sizes would tell whether it was backed up. */
#include <string.h>

#include <pthread.h>

#include "cdc.h"

#define DATA_AVG (1u << 20)
#define CATALOGUE_AVG (64u << 10)

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

static void
gear_init (void)
{
  uint64_t s = 0;

  for (int i = 0; i < 256; i++) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    gear[i] = z ^ (z >> 31);
  }
}

/* The hash shifts left one bit a byte, so its top bits depend on the
 * last 64 bytes: the masks test the top bits. */
static uint64_t
top_bits (unsigned n)
{
  return n == 0 ? 0 : n >= 64 ? ~0ULL : ~0ULL << (64 - n);
}

void
cdc_params_init (struct cdc_params *p, size_t avg)
{
  unsigned bits = 0;

  pthread_once (&gear_once, gear_init);
  memcpy (p->gear, gear, sizeof p->gear);
  while (((size_t) 1 << (bits + 1)) <= avg)
    bits++;
  p->avg = (size_t) 1 << bits;
  p->min = p->avg / 4;
  p->max = p->avg * 4;
  /* Normalization level 2 (the paper's recommendation): two bits more
   * before the average, two fewer after, so chunk sizes bunch up
   * around it. */
  p->mask_small = top_bits (bits + 2);
  p->mask_large = top_bits (bits - 2);
}

void
cdc_params_set_gear (struct cdc_params *p, const uint64_t g[256])
{
  memcpy (p->gear, g, sizeof p->gear);
}

static void
params_capped (struct cdc_params *p, size_t avg, uint32_t repo_chunk_size)
{
  while (avg * 4 > repo_chunk_size && avg > 256)
    avg /= 2;
  cdc_params_init (p, avg);
}

void
cdc_params_for_data (struct cdc_params *p, uint32_t repo_chunk_size)
{
  params_capped (p, DATA_AVG, repo_chunk_size);
}

void
cdc_params_for_catalogue (struct cdc_params *p, uint32_t repo_chunk_size)
{
  params_capped (p, CATALOGUE_AVG, repo_chunk_size);
}

size_t
cdc_cut (const struct cdc_params *p, const unsigned char *buf, size_t len,
         bool eof)
{
  size_t i, normal, end;
  uint64_t fp = 0;

  if (len <= p->min)
    return eof ? len : 0;
  if (len < p->max && !eof)
    return 0; /* a cut needs the full window */
  end = len < p->max ? len : p->max;
  normal = end < p->avg ? end : p->avg;
  for (i = p->min; i < normal; i++) {
    fp = (fp << 1) + p->gear[buf[i]];
    if (!(fp & p->mask_small))
      return i + 1;
  }
  for (; i < end; i++) {
    fp = (fp << 1) + p->gear[buf[i]];
    if (!(fp & p->mask_large))
      return i + 1;
  }
  return end;
}
