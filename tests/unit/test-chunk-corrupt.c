/* A damaged chunk file is an error with a cause, never wrong data:
 * flipped bits, truncation, and a chunk stored under the wrong name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/error.h"
#include "repo/chunk.h"
#include "test.h"

#define CHUNK (64 * 1024)

static unsigned char out[CHUNK];

/* Decode must fail, and the message must say why. */
static void
fails (struct chunk_ctx *ctx, const unsigned char *file, size_t len,
       const struct digest *want, const char *cause, const char *what)
{
  unsigned char *copy = test_memdup (file, len);
  size_t rawlen = 0;

  set_error (0, "no error set");
  CHECK (chunk_decode (ctx, copy, len, want, out, CHUNK, &rawlen) == -1,
         "%s: decoded anyway", what);
  CHECK (strstr (get_error (), cause) != NULL,
         "%s: error \"%s\" does not mention \"%s\"", what, get_error (),
         cause);
  free (copy);
}

static void
check_kind (struct chunk_ctx *ctx, const unsigned char *data, size_t len,
            const char *kind)
{
  const unsigned char *enc;
  unsigned char *file;
  size_t n;
  struct digest d, other;
  char what[128];

  CHECK (chunk_encode (ctx, NULL, data, len, &enc, &n) == 0, "encode: %s",
         get_error ());
  file = test_memdup (enc, n);
  CHECK (digest_compute (data, len, &d) == 0, "digest");

  /* Every payload byte, every bit position in turn. */
  for (size_t i = CHUNK_HEADER_LEN; i < n; i += (n > 4096 ? 97 : 1)) {
    file[i] ^= 1 << (i % 8);
    snprintf (what, sizeof what, "%s: payload byte %zu flipped", kind, i);
    fails (ctx, file, n, &d, "checksum mismatch", what);
    fails (ctx, file, n, NULL, "checksum mismatch", what);
    file[i] ^= 1 << (i % 8);
  }
  /* Every header byte. */
  for (size_t i = 0; i < CHUNK_HEADER_LEN; i++) {
    file[i] ^= 0x10;
    snprintf (what, sizeof what, "%s: header byte %zu flipped", kind, i);
    fails (ctx, file, n, &d, i < 8 ? "bad magic" : "header checksum", what);
    file[i] ^= 0x10;
  }

  /* Truncated anywhere, including inside the header, and extended. */
  for (size_t len2 = 0; len2 < n;
       len2 += (len2 < 64 || n - len2 < 64 ? 1 : 61)) {
    snprintf (what, sizeof what, "%s: truncated to %zu of %zu bytes", kind,
              len2, n);
    fails (ctx, file, len2, &d, "truncated", what);
  }
  {
    unsigned char *longer = calloc (1, n + 1);
    CHECK (longer != NULL, "calloc");
    memcpy (longer, file, n);
    snprintf (what, sizeof what, "%s: one byte appended", kind);
    fails (ctx, longer, n + 1, &d, "header says", what);
    free (longer);
  }

  /* Intact, but not the chunk the index asked for. */
  other = d;
  other.b[DIGEST_LEN - 1] ^= 1;
  snprintf (what, sizeof what, "%s: wrong expected digest", kind);
  fails (ctx, file, n, &other, "does not match its digest", what);

  /* Damaged and then given consistent checksums (as a buggy writer or a
   * malicious repository would): the digest still catches it. */
  if (n > CHUNK_HEADER_LEN + 8) {
    struct chunk_header h = {
      .version = 1,
      .compression = file[12],
      .raw_size = len,
      .payload_size = n - CHUNK_HEADER_LEN,
    };
    file[n / 2] ^= 0x40;
    h.payload_crc = crc32c (0, file + CHUNK_HEADER_LEN, n - CHUNK_HEADER_LEN);
    chunk_header_encode (&h, file);
    snprintf (what, sizeof what, "%s: damaged with fixed checksums", kind);
    fails (ctx, file, n, &d, "", what);
  }
  free (file);
}

int
main (void)
{
  static unsigned char data[CHUNK];
  struct chunk_ctx *ctx = chunk_ctx_new (CHUNK, 3);

  CHECK (ctx != NULL, "chunk_ctx_new: %s", get_error ());
  for (size_t i = 0; i < CHUNK; i++)
    data[i] = (i / 100) * 7 + (i % 13);
  check_kind (ctx, data, CHUNK, "compressed");
  test_fill_random (data, CHUNK);
  check_kind (ctx, data, 3000, "stored");
  chunk_ctx_free (ctx);
  return 0;
}
