/* libFuzzer harness for chunk files: the header parser and the whole
 * decode path (checksum, zstd, size checks).
 *
 * Each input is tried as is and again with both CRCs recomputed, so that
 * mutations get past the checksums to zstd and the size checks.  A chunk
 * that decodes must decode the same way twice and survive a re-encode:
 * a violation aborts, which libFuzzer reports like a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/endian.h"
#include "repo/chunk.h"

#define MAX_RAW (64 * 1024)

static unsigned char out[MAX_RAW], again[MAX_RAW];

static void
try_decode (struct chunk_ctx *ctx, const unsigned char *file, size_t len)
{
  struct chunk_header h;
  struct digest d;
  const unsigned char *enc;
  unsigned char *copy;
  size_t rawlen, rawlen2, enclen;
  int hdr_ok = chunk_header_parse (file, len, MAX_RAW, &h) == 0;

  if (chunk_decode (ctx, file, len, NULL, out, MAX_RAW, &rawlen) == -1)
    return;
  if (!hdr_ok || rawlen != h.raw_size || rawlen == 0 || rawlen > MAX_RAW)
    abort ();
  if (digest_compute (out, rawlen, &d) == -1)
    abort ();

  /* Decoding is deterministic and the digest check passes. */
  if (chunk_decode (ctx, file, len, &d, again, MAX_RAW, &rawlen2) == -1
      || rawlen2 != rawlen || memcmp (out, again, rawlen) != 0)
    abort ();

  /* Whatever decodes, re-encodes and decodes back to the same bytes. */
  if (chunk_encode (ctx, &d, out, rawlen, &enc, &enclen) == -1)
    abort ();
  copy = malloc (enclen);
  if (copy == NULL)
    abort ();
  memcpy (copy, enc, enclen);
  if (chunk_decode (ctx, copy, enclen, &d, again, MAX_RAW, &rawlen2) == -1
      || rawlen2 != rawlen || memcmp (out, again, rawlen) != 0)
    abort ();
  free (copy);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct chunk_ctx *ctx = chunk_ctx_new (MAX_RAW, 1);
  unsigned char *fixed;

  if (ctx == NULL)
    return 0;
  try_decode (ctx, data, size);

  if (size >= CHUNK_HEADER_LEN) {
    fixed = malloc (size);
    if (fixed == NULL)
      abort ();
    memcpy (fixed, data, size);
    put_le32 (fixed + 24,
              crc32c (0, fixed + CHUNK_HEADER_LEN, size - CHUNK_HEADER_LEN));
    put_le32 (fixed + 28, crc32c (0, fixed, 28));
    try_decode (ctx, fixed, size);
    free (fixed);
  }
  chunk_ctx_free (ctx);
  return 0;
}
