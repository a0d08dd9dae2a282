/* Encrypted (version 2) chunk files: what is written decodes back with
 * the key; without it, only what is stored can be checked, and that
 * check finds damage; every attack on a chunk is named, never decoded
 * into wrong data: a payload changed by someone without the key (with
 * its CRC and keyless check recomputed), a chunk stored under another
 * chunk's name, a chunk from another repository, a chunk in the clear
 * planted in an encrypted repository.  Nothing of the plaintext shows in
 * the file, and chunk names are keyed. */
#include <string.h>

#include <xxhash.h>

#include "common/crc32c.h"
#include "common/endian.h"
#include "common/error.h"
#include "crypto/keys.h"
#include "repo/chunk.h"
#include "test.h"

#define CHUNK 65536

static struct crypt_keys keys, other_keys;

static struct chunk_ctx *
ctx_with (struct crypt_keys *k)
{
  struct repo repo = { .chunk_size = CHUNK,
                       .encryption = AEAD_AES_256_GCM,
                       .keys = k };
  struct chunk_ctx *ctx = chunk_ctx_for (&repo, 3);

  CHECK (ctx != NULL, "%s", get_error ());
  return ctx;
}

/* An encrypted chunk file of data, malloc'd, and its name. */
static unsigned char *
seal_chunk (struct chunk_ctx *ctx, const unsigned char *data, size_t len,
            struct digest *id, size_t *filelen)
{
  const unsigned char *enc;

  CHECK (chunk_id (ctx, data, len, id) == 0, "%s", get_error ());
  CHECK (chunk_encode (ctx, id, data, len, &enc, filelen) == 0, "%s",
         get_error ());
  return test_memdup (enc, *filelen);
}

static void
decodes (struct chunk_ctx *ctx, const unsigned char *file, size_t n,
         const struct digest *id, const unsigned char *data, size_t len)
{
  static unsigned char out[CHUNK];
  size_t rawlen;

  CHECK (chunk_decode (ctx, file, n, id, out, CHUNK, &rawlen) == 0, "%s",
         get_error ());
  CHECK (rawlen == len && memcmp (out, data, len) == 0, "round trip");
}

static void
refused (struct chunk_ctx *ctx, const unsigned char *file, size_t n,
         const struct digest *id, const char *cause, const char *what)
{
  static unsigned char out[CHUNK];
  size_t rawlen;

  CHECK (chunk_decode (ctx, file, n, id, out, CHUNK, &rawlen) == -1,
         "%s: decoded", what);
  CHECK (strstr (get_error (), cause), "%s: '%s' lacks '%s'", what,
         get_error (), cause);
}

/* What an attacker without the key can do: change the payload and make
 * the CRC and the keyless check right again. */
static void
forge (unsigned char *file, size_t n, const struct digest *id)
{
  uint32_t payload = get_le32 (file + 20);
  XXH128_canonical_t c;
  XXH3_state_t *st = XXH3_createState ();

  file[CHUNK_HEADER_LEN + payload / 2] ^= 0x10;
  put_le32 (file + 24, crc32c (0, file + CHUNK_HEADER_LEN, payload));
  put_le32 (file + 28, crc32c (0, file, 28));
  XXH3_128bits_reset (st);
  XXH3_128bits_update (st, id->b, DIGEST_LEN);
  XXH3_128bits_update (st, file, n - 16);
  XXH128_canonicalFromHash (&c, XXH3_128bits_digest (st));
  memcpy (file + n - 16, c.digest, 16);
  XXH3_freeState (st);
}

static void
one_kind (const unsigned char *data, size_t len, const char *what)
{
  struct chunk_ctx *ctx = ctx_with (&keys), *keyless = ctx_with (NULL);
  struct chunk_ctx *other = ctx_with (&other_keys);
  struct digest id, sha;
  size_t n, rawlen = 0;
  unsigned char *file = seal_chunk (ctx, data, len, &id, &n);

  CHECK (get_le32 (file + 8) == 2, "%s: version %u", what,
         get_le32 (file + 8));
  decodes (ctx, file, n, &id, data, len);
  /* Keyed names: not the SHA-256 that would confirm known content. */
  digest_compute (data, len, &sha);
  CHECK (digest_cmp (&id, &sha) != 0, "%s: name is the plain SHA-256", what);
  CHECK (memmem (file, n, data + len / 3, 32) == NULL,
         "%s: plaintext in the chunk file", what);

  /* Without the key: the stored file checks, its content is unreadable. */
  CHECK (chunk_check_stored (keyless, file, n, &id, CHUNK, &rawlen) == 0
           && rawlen == len,
         "%s: keyless check of a good chunk: %s", what, get_error ());
  refused (keyless, file, n, &id, "key is needed", what);

  /* Damage: any flipped bit is found without the key. */
  for (size_t at = 0; at < n; at += n / 7 + 1) {
    file[at] ^= 2;
    CHECK (chunk_check_stored (keyless, file, n, &id, CHUNK, &rawlen) == -1,
           "%s: flip at %zu passed the keyless check", what, at);
    refused (ctx, file, n, &id, "", what);
    file[at] ^= 2;
  }
  CHECK (chunk_check_stored (keyless, file, n - 1, &id, CHUNK, &rawlen) == -1,
         "%s: truncated", what);

  /* Stored under another chunk's name. */
  struct digest wrong = id;
  wrong.b[5] ^= 1;
  CHECK (chunk_check_stored (keyless, file, n, &wrong, CHUNK, &rawlen) == -1,
         "%s: another name passed the keyless check", what);
  refused (ctx, file, n, &wrong, "", what);

  /* Another repository's key. */
  refused (other, file, n, &id, "authentication failed", what);

  /* Tampered by someone without the key: passes what can be checked
   * without it, and is named with it. */
  unsigned char *forged = test_memdup (file, n);
  forge (forged, n, &id);
  CHECK (chunk_check_stored (keyless, forged, n, &id, CHUNK, &rawlen) == 0,
         "%s: the forgery is not a keyless-valid file: %s", what,
         get_error ());
  refused (ctx, forged, n, &id, "authentication failed", what);

  free (forged);
  free (file);
  chunk_ctx_free (ctx);
  chunk_ctx_free (keyless);
  chunk_ctx_free (other);
}

static void
clear_and_encrypted_do_not_mix (const unsigned char *data, size_t len)
{
  struct chunk_ctx *clear = chunk_ctx_new (CHUNK, 3), *ctx = ctx_with (&keys);
  const unsigned char *enc;
  struct digest id, sha;
  size_t n;
  unsigned char *file;

  digest_compute (data, len, &sha);
  CHECK (chunk_encode (clear, &sha, data, len, &enc, &n) == 0, "encode");
  /* A chunk in the clear planted under its SHA-256 or the keyed name. */
  file = test_memdup (enc, n);
  refused (ctx, file, n, &sha, "in the clear in an encrypted repository",
           "planted");
  free (file);
  file = seal_chunk (ctx, data, len, &id, &n);
  refused (clear, file, n, &id, "encrypted chunk where one in the clear",
           "encrypted chunk read as clear");
  free (file);
  chunk_ctx_free (clear);
  chunk_ctx_free (ctx);
}

int
main (void)
{
  static unsigned char random[CHUNK], text[CHUNK], tail[1000];
  unsigned char master[MASTER_KEY_LEN] = { 9 },
                master2[MASTER_KEY_LEN] = { 10 };

  CHECK (crypt_keys_derive (master, AEAD_AES_256_GCM, &keys) == 0, "keys");
  CHECK (crypt_keys_derive (master2, AEAD_AES_256_GCM, &other_keys) == 0,
         "keys");
  for (size_t i = 0; i < CHUNK; i++) {
    random[i] = test_rand64 ();
    text[i] = "the quick brown fox "[i % 20];
  }
  memcpy (tail, random, sizeof tail);
  one_kind (random, CHUNK, "incompressible (stored) chunk");
  one_kind (text, CHUNK, "compressed chunk");
  one_kind (tail, sizeof tail, "short last chunk");
  clear_and_encrypted_do_not_mix (text, CHUNK);

  /* ChaCha20-Poly1305 repositories too. */
  CHECK (crypt_keys_derive (master, AEAD_CHACHA20_POLY1305, &keys) == 0,
         "derive");
  one_kind (text, CHUNK, "chacha20 compressed chunk");
  return 0;
}
