/* libFuzzer harness for index files: index_header_parse and
 * index_check_buffer.
 *
 * Each input is checked as is and again with its trailer digest
 * recomputed, so that mutations reach the header's size arithmetic.  The
 * header is also parsed against a file length taken from its reserved
 * bytes 32..39, to try lengths no real input of this size could have.
 * Accepted headers must be self-consistent; a violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "repo/index.h"

static void
check_header (const struct index_header *h, uint64_t filelen)
{
  uint64_t want;

  if (h->chunk_size < REPO_MIN_CHUNK || h->chunk_size > REPO_MAX_CHUNK
      || (h->chunk_size & (h->chunk_size - 1)))
    abort ();
  want = h->disk_size / h->chunk_size + (h->disk_size % h->chunk_size != 0);
  if (h->chunk_count != want)
    abort ();
  /* chunk_count <= 2^48, so this cannot overflow. */
  if (filelen != INDEX_HEADER_LEN + h->chunk_count * DIGEST_LEN + DIGEST_LEN)
    abort ();
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct index_header h;
  unsigned char *fixed;
  struct digest d;
  int hdr_ok;

  hdr_ok = index_header_parse (data, size, &h) == 0;
  if (hdr_ok)
    check_header (&h, size);
  if (index_check_buffer (data, size, &h) == 0) {
    if (!hdr_ok)
      abort ();
    check_header (&h, size);
  }

  if (size >= INDEX_HEADER_LEN) {
    /* As index_reader_open calls it: the header alone, the length from
     * fstat. */
    unsigned char hdr[INDEX_HEADER_LEN];
    uint64_t claimed = get_le64 (data + 32);

    memcpy (hdr, data, sizeof hdr);
    if (index_header_parse (hdr, claimed, &h) == 0)
      check_header (&h, claimed);
  }

  if (size >= INDEX_HEADER_LEN + DIGEST_LEN) {
    fixed = malloc (size);
    if (fixed == NULL)
      abort ();
    memcpy (fixed, data, size);
    if (digest_compute (fixed, size - DIGEST_LEN, &d) == -1)
      abort ();
    memcpy (fixed + size - DIGEST_LEN, d.b, DIGEST_LEN);
    hdr_ok = index_header_parse (fixed, size, &h) == 0;
    /* With a right trailer, the header alone decides. */
    if ((index_check_buffer (fixed, size, &h) == 0) != hdr_ok)
      abort ();
    if (hdr_ok)
      check_header (&h, size);
    free (fixed);
  }
  return 0;
}
