/* What chunk_encode writes chunk_decode gives back byte for byte:
 * compressible data is stored compressed, random data as is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "repo/chunk.h"
#include "test.h"

#define CHUNK (64 * 1024)

static void
round_trip (struct chunk_ctx *ctx, const unsigned char *data, size_t len,
            uint32_t want_comp, const char *what)
{
  static unsigned char out[CHUNK];
  const unsigned char *enc;
  unsigned char *file;
  size_t enclen, rawlen = 0;
  struct digest d;
  struct chunk_header h;

  CHECK (chunk_encode (ctx, NULL, data, len, &enc, &enclen) == 0,
         "%s: encode: %s", what, get_error ());
  CHECK (memcmp (enc, CHUNK_MAGIC, 8) == 0, "%s: no chunk magic", what);
  CHECK (get_le32 (enc + 12) == want_comp, "%s: compression %u, want %u", what,
         get_le32 (enc + 12), want_comp);
  if (want_comp == CHUNK_COMP_NONE)
    CHECK (enclen == CHUNK_HEADER_LEN + len, "%s: stored chunk is %zu bytes",
           what, enclen);
  else
    CHECK (enclen < len / 4, "%s: %zu bytes compress to %zu", what, len,
           enclen);

  /* Decode from a copy of exactly the file's size, as chunk_load would
   * read it, with a second context (another thread). */
  file = test_memdup (enc, enclen);
  CHECK (chunk_header_parse (file, enclen, CHUNK, &h) == 0, "%s: header: %s",
         what, get_error ());
  CHECK (h.raw_size == len, "%s: header raw size %u", what, h.raw_size);
  CHECK (digest_compute (data, len, &d) == 0, "digest");
  memset (out, 0xa5, sizeof out);
  CHECK (chunk_decode (ctx, file, enclen, &d, out, CHUNK, &rawlen) == 0,
         "%s: decode: %s", what, get_error ());
  CHECK (rawlen == len, "%s: decoded %zu bytes, want %zu", what, rawlen, len);
  CHECK (memcmp (out, data, len) == 0, "%s: decoded data differs", what);

  /* The digest is optional: verify passes NULL when it checks it. */
  CHECK (chunk_decode (ctx, file, enclen, NULL, out, CHUNK, &rawlen) == 0,
         "%s: decode without digest: %s", what, get_error ());
  free (file);
}

int
main (void)
{
  static unsigned char data[CHUNK];
  struct chunk_ctx *ctx = chunk_ctx_new (CHUNK, 3);
  const unsigned char *enc;
  size_t enclen;

  CHECK (ctx != NULL, "chunk_ctx_new: %s", get_error ());

  for (size_t i = 0; i < CHUNK; i++)
    data[i] = "the quick brown fox jumps over the lazy dog\n"[i % 44];
  round_trip (ctx, data, CHUNK, CHUNK_COMP_ZSTD, "text");

  test_fill_random (data, CHUNK);
  round_trip (ctx, data, CHUNK, CHUNK_COMP_NONE, "random");
  round_trip (ctx, data, 1, CHUNK_COMP_NONE, "one byte");
  round_trip (ctx, data, 1000, CHUNK_COMP_NONE, "short random");

  /* Half random, half zero: compressed, and still exact. */
  memset (data + CHUNK / 2, 0, CHUNK / 2);
  {
    const unsigned char *e;
    size_t n;
    CHECK (chunk_encode (ctx, NULL, data, CHUNK, &e, &n) == 0, "encode: %s",
           get_error ());
    CHECK (get_le32 (e + 12) == CHUNK_COMP_ZSTD && n < CHUNK * 3 / 4,
           "half-zero chunk not compressed (%zu bytes)", n);
  }

  /* Sizes the context was not made for are refused, not overflowed. */
  CHECK (chunk_encode (ctx, NULL, data, 0, &enc, &enclen) == -1,
         "empty chunk encoded");
  {
    unsigned char *big = calloc (1, CHUNK + 1);
    CHECK (big != NULL, "calloc");
    CHECK (chunk_encode (ctx, NULL, big, CHUNK + 1, &enc, &enclen) == -1,
           "chunk larger than the chunk size encoded");
    free (big);
  }

  chunk_ctx_free (ctx);
  return 0;
}
