/* Chunk file encoding, decoding and loading (see chunk.h). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <xxhash.h>
#include <zstd.h>

#include "common/cleanup.h"
#include "common/crc32c.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "crypto/keys.h"
#include "chunk.h"

struct chunk_ctx {
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
  int level;
  uint32_t chunk_size;
  unsigned char *buf; /* encoded chunk: header + payload */
  size_t bufcap;
  bool encrypted;                /* a repository's with keyed names */
  bool public;                   /* ...stored as version 1: stream maps */
  const struct crypt_keys *keys; /* NULL: check stored chunks only */
  unsigned char *plain;          /* a decrypted compressed payload */
  XXH3_state_t *check;
};

/* The keyless check is 16 bytes of XXH3-128; the seal after a version 2
 * payload is tag, nonce, check. */
#define CHECK_LEN 16
#define TAG_AT(n) (CHUNK_HEADER_LEN + (n))
#define NONCE_AT(n) (TAG_AT (n) + AEAD_TAG_LEN)
#define CHECK_AT(n) (NONCE_AT (n) + AEAD_NONCE_LEN)

void
chunk_relpath (const struct digest *d, char *out, size_t len)
{
  char hex[DIGEST_HEX_LEN + 1];

  digest_to_hex (d, hex);
  snprintf (out, len, "chunks/%.2s/%s", hex, hex);
}

void
chunk_header_encode (const struct chunk_header *h, unsigned char *out)
{
  memcpy (out, CHUNK_MAGIC, 8);
  put_le32 (out + 8, h->version);
  put_le32 (out + 12, h->compression);
  put_le32 (out + 16, h->raw_size);
  put_le32 (out + 20, h->payload_size);
  put_le32 (out + 24, h->payload_crc);
  put_le32 (out + 28, crc32c (0, out, 28));
}

int
chunk_header_parse (const unsigned char *buf, size_t len, uint32_t max_raw,
                    struct chunk_header *h)
{
  size_t want;

  if (len < CHUNK_HEADER_LEN) {
    set_error (0, "truncated chunk (%zu bytes)", len);
    return -1;
  }
  if (memcmp (buf, CHUNK_MAGIC, 8) != 0) {
    set_error (0, "not a chunk (bad magic)");
    return -1;
  }
  if (get_le32 (buf + 28) != crc32c (0, buf, 28)) {
    set_error (0, "chunk header checksum mismatch");
    return -1;
  }
  h->version = get_le32 (buf + 8);
  if (h->version != 1 && h->version != 2) {
    set_error (0, "unsupported chunk version %u", h->version);
    return -1;
  }
  h->compression = get_le32 (buf + 12);
  h->raw_size = get_le32 (buf + 16);
  h->payload_size = get_le32 (buf + 20);
  h->payload_crc = get_le32 (buf + 24);
  if (h->compression != CHUNK_COMP_NONE && h->compression != CHUNK_COMP_ZSTD) {
    set_error (0, "unknown chunk compression %u", h->compression);
    return -1;
  }
  if (h->raw_size == 0 || h->raw_size > max_raw) {
    set_error (0, "chunk raw size %u out of range", h->raw_size);
    return -1;
  }
  if (h->compression == CHUNK_COMP_NONE && h->payload_size != h->raw_size) {
    set_error (0, "uncompressed chunk with payload size %u != %u",
               h->payload_size, h->raw_size);
    return -1;
  }
  want = (size_t) CHUNK_HEADER_LEN + h->payload_size
    + (h->version == 2 ? CHUNK_SEAL_LEN : 0);
  if (len < want) {
    set_error (0, "truncated chunk (%zu of %zu bytes)", len, want);
    return -1;
  }
  if (len > want) {
    set_error (0, "chunk file is %zu bytes, its header says %zu", len, want);
    return -1;
  }
  return 0;
}

struct chunk_ctx *
chunk_ctx_new (uint32_t chunk_size, int level)
{
  struct chunk_ctx *ctx = calloc (1, sizeof *ctx);

  if (ctx == NULL)
    goto oom;
  ctx->level = level;
  ctx->chunk_size = chunk_size;
  ctx->cctx = ZSTD_createCCtx ();
  ctx->dctx = ZSTD_createDCtx ();
  /* Page-aligned and padded to whole pages: store_put writes it with
   * O_DIRECT. */
  ctx->bufcap = (CHUNK_HEADER_LEN + ZSTD_compressBound (chunk_size)
                 + CHUNK_ALIGN - 1)
    & ~(size_t) (CHUNK_ALIGN - 1);
  if (posix_memalign ((void **) &ctx->buf, CHUNK_ALIGN, ctx->bufcap) != 0)
    ctx->buf = NULL;
  if (ctx->cctx == NULL || ctx->dctx == NULL || ctx->buf == NULL)
    goto oom;
  return ctx;

oom:
  chunk_ctx_free (ctx);
  set_error (ENOMEM, "chunk context");
  return NULL;
}

struct chunk_ctx *
chunk_ctx_for_public (const struct repo *repo, int level)
{
  struct chunk_ctx *ctx = chunk_ctx_for (repo, level);

  if (ctx)
    ctx->public = true;
  return ctx;
}

struct chunk_ctx *
chunk_ctx_for (const struct repo *repo, int level)
{
  struct chunk_ctx *ctx = chunk_ctx_new (repo->chunk_size, level);

  if (ctx == NULL || repo->encryption == 0)
    return ctx;
  ctx->encrypted = true;
  ctx->keys = repo->keys;
  ctx->plain = malloc (ctx->bufcap);
  ctx->check = XXH3_createState ();
  if (ctx->plain == NULL || ctx->check == NULL) {
    chunk_ctx_free (ctx);
    set_error (ENOMEM, "chunk context");
    return NULL;
  }
  return ctx;
}

void
chunk_ctx_free (struct chunk_ctx *ctx)
{
  if (ctx == NULL)
    return;
  ZSTD_freeCCtx (ctx->cctx);
  ZSTD_freeDCtx (ctx->dctx);
  free (ctx->buf);
  if (ctx->plain) {
    OPENSSL_cleanse (ctx->plain, ctx->bufcap);
    free (ctx->plain);
  }
  XXH3_freeState (ctx->check);
  free (ctx);
}

int
chunk_id (struct chunk_ctx *ctx, const void *data, size_t len,
          struct digest *out)
{
  if (!ctx->encrypted)
    return digest_compute (data, len, out);
  if (ctx->keys == NULL) {
    set_error (0, "the repository is encrypted: its key is needed");
    return -1;
  }
  return crypt_chunk_id (ctx->keys, data, len, out);
}

/* XXH3-128 of the chunk's name and the n bytes of file before the check:
 * what a reader without the key can verify.  Not a cryptographic
 * digest, and it need not be: anyone who can change the file can also
 * recompute any unkeyed digest, so it is there to find damage, which
 * 128 bits find with certainty; tampering is found by the AEAD tag. */
static void
keyless_check (struct chunk_ctx *ctx, const struct digest *id,
               const unsigned char *file, size_t n,
               unsigned char out[CHECK_LEN])
{
  XXH128_canonical_t c;

  XXH3_128bits_reset (ctx->check);
  XXH3_128bits_update (ctx->check, id->b, DIGEST_LEN);
  XXH3_128bits_update (ctx->check, file, n);
  XXH128_canonicalFromHash (&c, XXH3_128bits_digest (ctx->check));
  memcpy (out, c.digest, CHECK_LEN);
}

/* The associated data of a version 2 chunk: its name and the header up
 * to the payload size, so that the file cannot be moved under another
 * name or have its sizes or compression changed. */
static void
chunk_aad (const struct digest *id, const unsigned char *file,
           unsigned char aad[DIGEST_LEN + 24])
{
  memcpy (aad, id->b, DIGEST_LEN);
  memcpy (aad + DIGEST_LEN, file, 24);
}

/* Encrypt the payload of the chunk file at file (header fields in h,
 * payload in place after the header), append tag, nonce and check, and
 * write the header. */
static int
seal (struct chunk_ctx *ctx, const struct digest *id, unsigned char *file,
      struct chunk_header *h, size_t *outlen)
{
  unsigned char aad[DIGEST_LEN + 24];
  uint32_t n = h->payload_size;

  if (ctx->keys == NULL) {
    set_error (0, "the repository is encrypted: its key is needed");
    return -1;
  }
  h->version = 2;
  h->payload_crc = 0;
  chunk_header_encode (h, file);
  chunk_aad (id, file, aad);
  if (aead_encrypt (ctx->keys->cipher, ctx->keys->data, aad, sizeof aad,
                    file + CHUNK_HEADER_LEN, n, file + CHUNK_HEADER_LEN,
                    file + NONCE_AT (n), file + TAG_AT (n))
      == -1)
    return -1;
  h->payload_crc = crc32c (0, file + CHUNK_HEADER_LEN, n);
  chunk_header_encode (h, file);
  keyless_check (ctx, id, file, CHECK_AT (n), file + CHECK_AT (n));
  *outlen = CHECK_AT (n) + CHECK_LEN;
  return 0;
}

/* Random or already compressed data (encrypted disks, media, archives)
 * is a large part of real disks, and zstd still spends real time on it.
 * Try a few samples at the fastest level first: when none of them
 * shrinks, the whole chunk will not either. */
#define SAMPLE 16384
#define SAMPLES 4

static bool
looks_incompressible (struct chunk_ctx *ctx, const unsigned char *data,
                      size_t len)
{
  unsigned char *out = ctx->buf + CHUNK_HEADER_LEN;

  if (len < SAMPLE * SAMPLES * 4)
    return false;
  for (int i = 0; i < SAMPLES; i++) {
    size_t n = ZSTD_compressCCtx (ctx->cctx, out,
                                  ctx->bufcap - CHUNK_HEADER_LEN,
                                  data + (len / SAMPLES) * i, SAMPLE, 1);
    /* 3% is what zstd's own block overhead and a few matches give on
     * truly random data. */
    if (!ZSTD_isError (n) && n < SAMPLE * 97 / 100)
      return false;
  }
  return true;
}

/* Compress len bytes of data into ctx's buffer, after the header's
 * place.  Returns the payload: ctx's when compression shrank the data,
 * else data itself (stored as is: restore never pays for decompressing
 * what compression did not shrink), with its header filled in but for
 * the CRC. */
static const unsigned char *
encode_payload (struct chunk_ctx *ctx, const unsigned char *data, size_t len,
                struct chunk_header *h)
{
  unsigned char *payload = ctx->buf + CHUNK_HEADER_LEN;
  size_t n = looks_incompressible (ctx, data, len)
    ? len
    : ZSTD_compressCCtx (ctx->cctx, payload, ctx->bufcap - CHUNK_HEADER_LEN,
                         data, len, ctx->level);

  h->raw_size = len;
  if (ZSTD_isError (n) || n >= len) {
    h->compression = CHUNK_COMP_NONE;
    h->payload_size = len;
    return data;
  }
  h->compression = CHUNK_COMP_ZSTD;
  h->payload_size = n;
  return payload;
}

static int
check_len (const struct chunk_ctx *ctx, size_t len)
{
  if (len == 0 || len > ctx->chunk_size) {
    set_error (EINVAL, "chunk of %zu bytes", len);
    return -1;
  }
  return 0;
}

int
chunk_encode (struct chunk_ctx *ctx, const struct digest *id, const void *data,
              size_t len, const unsigned char **out, size_t *outlen)
{
  struct chunk_header h;
  unsigned char *payload = ctx->buf + CHUNK_HEADER_LEN;

  if (check_len (ctx, len) == -1)
    return -1;
  if (encode_payload (ctx, data, len, &h) != payload)
    memcpy (payload, data, len);
  *out = ctx->buf;
  if (ctx->encrypted && !ctx->public)
    return seal (ctx, id, ctx->buf, &h, outlen);
  h.version = 1;
  h.payload_crc = crc32c (0, payload, h.payload_size);
  chunk_header_encode (&h, ctx->buf);
  *out = ctx->buf;
  *outlen = CHUNK_HEADER_LEN + h.payload_size;
  return 0;
}

int
chunk_encode_in_place (struct chunk_ctx *ctx, const struct digest *id,
                       unsigned char *mem, size_t len, size_t *outlen)
{
  struct chunk_header h;
  unsigned char *data = mem + CHUNK_HEADER_LEN;
  const unsigned char *payload;

  if (check_len (ctx, len) == -1)
    return -1;
  payload = encode_payload (ctx, data, len, &h);
  if (payload != data)
    memcpy (data, payload, h.payload_size);
  if (ctx->encrypted && !ctx->public)
    return seal (ctx, id, mem, &h, outlen);
  h.version = 1;
  h.payload_crc = crc32c (0, data, h.payload_size);
  chunk_header_encode (&h, mem);
  *outlen = CHUNK_HEADER_LEN + h.payload_size;
  return 0;
}

/* What needs no key: the header, the length, the payload CRC and, for
 * version 2, the keyless check against the chunk's name. */
static int
check_stored (struct chunk_ctx *ctx, const unsigned char *file, size_t filelen,
              const struct digest *want, uint32_t max_raw,
              struct chunk_header *h)
{
  unsigned char check[CHECK_LEN];

  if (chunk_header_parse (file, filelen, max_raw, h) == -1)
    return -1;
  if (h->version != (ctx->encrypted && !ctx->public ? 2u : 1u)) {
    set_error (0,
               h->version == 1
                 ? "chunk stored in the clear in an encrypted repository"
                 : "encrypted chunk where one in the clear belongs");
    return -1;
  }
  if (crc32c (0, file + CHUNK_HEADER_LEN, h->payload_size) != h->payload_crc) {
    set_error (0, "chunk payload checksum mismatch");
    return -1;
  }
  if (h->version == 1)
    return 0;
  if (want == NULL) {
    set_error (EINVAL, "an encrypted chunk is checked under its name");
    return -1;
  }
  keyless_check (ctx, want, file, CHECK_AT (h->payload_size), check);
  if (memcmp (check, file + CHECK_AT (h->payload_size), CHECK_LEN) != 0) {
    set_error (0,
               "chunk check mismatch (damaged, or stored under another "
               "chunk's name)");
    return -1;
  }
  return 0;
}

int
chunk_check_stored (struct chunk_ctx *ctx, const unsigned char *file,
                    size_t filelen, const struct digest *want,
                    uint32_t max_raw, size_t *rawlen)
{
  struct chunk_header h;

  if (check_stored (ctx, file, filelen, want, max_raw, &h) == -1)
    return -1;
  *rawlen = h.raw_size;
  return 0;
}

/* The payload of a version 2 chunk, decrypted: into out when it was
 * stored uncompressed, else into ctx->plain.  Returns where it is. */
static const unsigned char *
open_payload (struct chunk_ctx *ctx, const unsigned char *file,
              const struct digest *want, const struct chunk_header *h,
              void *out)
{
  unsigned char aad[DIGEST_LEN + 24];
  unsigned char *to = h->compression == CHUNK_COMP_NONE ? out : ctx->plain;
  uint32_t n = h->payload_size;

  if (ctx->keys == NULL) {
    set_error (0, "the repository is encrypted: its key is needed");
    return NULL;
  }
  chunk_aad (want, file, aad);
  if (aead_decrypt (ctx->keys->cipher, ctx->keys->data, aad, sizeof aad,
                    file + CHUNK_HEADER_LEN, n, file + NONCE_AT (n),
                    file + TAG_AT (n), to)
      == -1) {
    set_error (0,
               "chunk authentication failed (changed by someone without "
               "the key, or from another repository)");
    return NULL;
  }
  return to;
}

/* How much of a stored chunk decode checks. */
enum decode_checks {
  /* Everything stored: what verify, serve and copy ask for, so that a
   * chunk they pass also passes a later check without the key. */
  CHECK_ALL,
  /* What the content needs.  With the key, a version 2 chunk's payload
   * CRC and keyless check add nothing to its authentication tag (over
   * the payload, the header's sizes and the name) and its digest: they
   * are computed only to name the damage when the tag fails.  Measured:
   * a tenth to a seventh of a restore's CPU (bench/README.md). */
  CHECK_CONTENT,
};

/* Whether the keyless fields of a keyed version 2 chunk need not be
 * checked before it is opened. */
static bool
authenticated_later (const struct chunk_ctx *ctx, const unsigned char *file,
                     size_t filelen, uint32_t max_raw,
                     enum decode_checks checks, struct chunk_header *h)
{
  return checks == CHECK_CONTENT && ctx->keys != NULL && ctx->encrypted
    && !ctx->public && chunk_header_parse (file, filelen, max_raw, h) == 0
    && h->version == 2;
}

static int
decode (struct chunk_ctx *ctx, const unsigned char *file, size_t filelen,
        const struct digest *want, void *out, uint32_t max_raw, size_t *rawlen,
        enum decode_checks checks)
{
  struct chunk_header h;
  const unsigned char *payload = file + CHUNK_HEADER_LEN;
  struct digest got;

  if (want != NULL
      && authenticated_later (ctx, file, filelen, max_raw, checks, &h)) {
    if ((payload = open_payload (ctx, file, want, &h, out)) == NULL) {
      /* The tag failed: the keyless checks say whether the bytes were
       * damaged, as they would have before opening. */
      char why[1024];
      snprintf (why, sizeof why, "%s", get_error ());
      if (check_stored (ctx, file, filelen, want, max_raw, &h) == 0)
        set_error (0, "%s", why);
      return -1;
    }
  }
  else {
    if (check_stored (ctx, file, filelen, want, max_raw, &h) == -1)
      return -1;
    if (h.version == 2
        && (payload = open_payload (ctx, file, want, &h, out)) == NULL)
      return -1;
  }
  if (h.compression == CHUNK_COMP_ZSTD) {
    size_t n = ZSTD_decompressDCtx (ctx->dctx, out, max_raw, payload,
                                    h.payload_size);
    if (ZSTD_isError (n) || n != h.raw_size) {
      set_error (0, "chunk does not decompress to %u bytes", h.raw_size);
      return -1;
    }
  }
  else if (payload != out)
    memcpy (out, payload, h.raw_size);
  /* A public chunk of an encrypted repository read without the key:
   * its keyed name cannot be checked, only its CRCs. */
  if (want && !(ctx->encrypted && ctx->keys == NULL)) {
    if (chunk_id (ctx, out, h.raw_size, &got) == -1)
      return -1;
    if (digest_cmp (&got, want) != 0) {
      set_error (0, "chunk content does not match its digest");
      return -1;
    }
  }
  *rawlen = h.raw_size;
  return 0;
}

int
chunk_decode (struct chunk_ctx *ctx, const unsigned char *file, size_t filelen,
              const struct digest *want, void *out, uint32_t max_raw,
              size_t *rawlen)
{
  return decode (ctx, file, filelen, want, out, max_raw, rawlen, CHECK_ALL);
}

int
chunk_read_file (struct repo *repo, const struct digest *d, void *buf,
                 size_t cap, size_t *len)
{
  return repo->be->ops->chunk_get (repo->be, d, buf, cap, len);
}

/* Read chunk want and check it: decoded into out (chunk_decode), or, in
 * an encrypted repository opened without its key and out NULL, only as
 * far as the keyless check goes. */
static int
load (struct repo *repo, struct chunk_ctx *ctx, const struct digest *want,
      void *out, size_t *rawlen, enum decode_checks checks)
{
  char rel[128];
  size_t len;
  int r;

  if (chunk_read_file (repo, want, ctx->buf, ctx->bufcap, &len) == -1)
    return -1;
  /* Checked here whatever the backend: bytes that crossed a network are
   * trusted no more than a local file. */
  r = out
    ? decode (ctx, ctx->buf, len, want, out, ctx->chunk_size, rawlen, checks)
    : chunk_check_stored (ctx, ctx->buf, len, want, ctx->chunk_size, rawlen);
  if (r == -1) {
    /* Every decode failure without an errno is about the bytes (header,
     * CRC, decompression, digest, authentication); with one, it was
     * memory or the digest library. */
    bool damaged = get_errno () == 0;
    chunk_relpath (want, rel, sizeof rel);
    error_prefix ("chunk %s", rel + 10);
    if (damaged)
      set_error_kind (ERROR_DAMAGED);
    return -1;
  }
  return 0;
}

int
chunk_load (struct repo *repo, struct chunk_ctx *ctx,
            const struct digest *want, void *out, size_t *rawlen)
{
  return load (repo, ctx, want, out, rawlen, CHECK_CONTENT);
}

int
chunk_verify (struct repo *repo, struct chunk_ctx *ctx,
              const struct digest *want, void *buf, size_t *rawlen)
{
  bool keyless = ctx->encrypted && ctx->keys == NULL && !ctx->public;

  return load (repo, ctx, want, keyless ? NULL : buf, rawlen, CHECK_ALL);
}

void
chunk_prefetch (struct repo *repo, const struct digest *d)
{
  if (repo->be->ops->chunk_prefetch)
    repo->be->ops->chunk_prefetch (repo->be, d);
}

bool
chunk_prefetch_useful (const struct repo *repo)
{
  return repo->be->ops->chunk_prefetch != NULL;
}

unsigned
chunk_prefetch_depth (const struct repo *repo)
{
  return repo->be->ops->chunk_prefetch_depth;
}
