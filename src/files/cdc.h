/* Content-defined chunking: FastCDC (Xia et al., USENIX ATC 2016) with a
 * gear hash and normalized chunking.
 *
 * A cut point depends only on the 64 bytes before it, so an insertion
 * early in a stream moves the cuts near it and no others: the chunks
 * after it are the same as before and deduplicate.  That is what fixed
 * 4 MiB disk chunks cannot give a stream of files, where every file
 * that grows shifts everything after it. */
#ifndef VMB_CDC_H
#define VMB_CDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cdc_params {
  size_t min, avg, max; /* avg a power of two; min < avg < max */
  uint64_t mask_small;  /* below avg: harder to cut */
  uint64_t mask_large;  /* from avg on: easier to cut */
  uint64_t gear[256];   /* the hash's byte values */
};

/* Parameters for a target average chunk size avg (a power of two,
 * 256 <= avg), with min = avg / 4 and max = avg * 4. */
void cdc_params_init (struct cdc_params *p, size_t avg);

/* Use another gear table (an encrypted repository's, keyed): cuts then
 * depend on the key as well as on the content. */
void cdc_params_set_gear (struct cdc_params *p, const uint64_t gear[256]);

/* File contents: average 1 MiB, min 256 KiB, max 4 MiB, but never a
 * maximum above the repository's chunk size (chunk files are at most
 * that long); see the comment in cdc.c for why these sizes. */
void cdc_params_for_data (struct cdc_params *p, uint32_t repo_chunk_size);
/* The catalogue: average 64 KiB, min 16 KiB, max 256 KiB (same cap). */
void cdc_params_for_catalogue (struct cdc_params *p, uint32_t repo_chunk_size);

/* Length of the first chunk of buf[0..len): a cut point found by the
 * hash, or max.  When neither is within len, returns len if eof (the
 * stream's last chunk) and 0 otherwise (give me more bytes). */
size_t cdc_cut (const struct cdc_params *p, const unsigned char *buf,
                size_t len, bool eof);

#endif
