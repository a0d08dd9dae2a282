/* libFuzzer harness for chunk files: the header parser and the whole
 * decode path (checksum, zstd, size checks), in the clear and encrypted
 * (version 2: the keyless check, then authentication, with and without
 * the key).
 *
 * Each input is tried as is and again with both CRCs recomputed, so that
 * mutations get past the checksums to zstd and the size checks.  A chunk
 * that decodes must decode the same way twice and survive a re-encode:
 * a violation aborts, which libFuzzer reports like a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/crc32c.h"
#include "common/endian.h"
#include "crypto/keys.h"
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

/* An encrypted repository's chunk: what passes the keyless check is a
 * whole version 2 file; nothing a fuzzer makes authenticates. */
static void
try_encrypted (const unsigned char *file, size_t len)
{
  static struct crypt_keys keys;
  static const unsigned char master[MASTER_KEY_LEN] = { 7 };
  struct repo keyed = { .chunk_size = MAX_RAW,
                        .encryption = AEAD_AES_256_GCM,
                        .keys = &keys };
  struct repo keyless = keyed;
  struct chunk_ctx *k, *nk;
  struct chunk_header h;
  struct digest name = { { 1, 2, 3 } };
  size_t rawlen;

  if (keys.cipher == 0
      && crypt_keys_derive (master, AEAD_AES_256_GCM, &keys) == -1)
    abort ();
  keyless.keys = NULL;
  k = chunk_ctx_for (&keyed, 1);
  nk = chunk_ctx_for (&keyless, 1);
  if (k == NULL || nk == NULL)
    abort ();
  if (chunk_check_stored (nk, file, len, &name, MAX_RAW, &rawlen) == 0
      && (chunk_header_parse (file, len, MAX_RAW, &h) == -1 || h.version != 2
          || len != CHUNK_HEADER_LEN + h.payload_size + CHUNK_SEAL_LEN
          || rawlen != h.raw_size))
    abort ();
  if (chunk_decode (k, file, len, &name, out, MAX_RAW, &rawlen) == 0)
    abort (); /* forged authentication */
  if (chunk_decode (nk, file, len, &name, out, MAX_RAW, &rawlen) == 0)
    abort (); /* decoded without the key */
  chunk_ctx_free (k);
  chunk_ctx_free (nk);
}

/* A version 2 file with its keyless check made right, so mutations reach
 * the AEAD. */
static void
fix_check (unsigned char *file, size_t len)
{
  static const struct digest name = { { 1, 2, 3 } };
  XXH3_state_t *st;
  XXH128_canonical_t c;

  if (len < CHUNK_HEADER_LEN + 16)
    return;
  st = XXH3_createState ();
  XXH3_128bits_reset (st);
  XXH3_128bits_update (st, name.b, DIGEST_LEN);
  XXH3_128bits_update (st, file, len - 16);
  XXH128_canonicalFromHash (&c, XXH3_128bits_digest (st));
  memcpy (file + len - 16, c.digest, 16);
  XXH3_freeState (st);
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
  try_encrypted (data, size);

  if (size >= CHUNK_HEADER_LEN) {
    fixed = malloc (size);
    if (fixed == NULL)
      abort ();
    memcpy (fixed, data, size);
    put_le32 (fixed + 24,
              crc32c (0, fixed + CHUNK_HEADER_LEN, size - CHUNK_HEADER_LEN));
    put_le32 (fixed + 28, crc32c (0, fixed, 28));
    try_decode (ctx, fixed, size);
    if (size >= CHUNK_HEADER_LEN + CHUNK_SEAL_LEN) {
      put_le32 (fixed + 24,
                crc32c (0, fixed + CHUNK_HEADER_LEN,
                        size - CHUNK_HEADER_LEN - CHUNK_SEAL_LEN));
      put_le32 (fixed + 28, crc32c (0, fixed, 28));
      fix_check (fixed, size);
      try_encrypted (fixed, size);
    }
    free (fixed);
  }
  chunk_ctx_free (ctx);
  return 0;
}
