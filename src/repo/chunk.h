/* Chunk files: a 32-byte header and a payload (zstd or stored as is).
 *
 *   0  magic "VMBCHNK1"
 *   8  u32 version (1, 2)     12 u32 compression (0 none, 1 zstd)
 *   16 u32 raw size           20 u32 payload size
 *   24 u32 crc32c(payload)    28 u32 crc32c(bytes 0..27)
 *
 * All integers little-endian.  Version 1 (a repository in the clear):
 * the file is named by the SHA-256 of the raw data.  Version 2 (an
 * encrypted repository): named by the HMAC-SHA-256 of the raw data
 * under the repository's id key; the payload is encrypted, and the
 * AEAD tag, the nonce and a keyless check (XXH3-128 of the name and
 * every byte before it) follow it (docs/repository-format.pod,
 * ENCRYPTION). */
#ifndef VMB_CHUNK_H
#define VMB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/format.h"
#include "repo.h"

#define CHUNK_MAGIC "VMBCHNK1"
#define CHUNK_HEADER_LEN FORMAT_CHUNK_HEADER_LEN
#define CHUNK_COMP_NONE 0
#define CHUNK_COMP_ZSTD 1
/* chunk_encode's output is aligned to, and may be written padded to,
 * this (for O_DIRECT). */
#define CHUNK_ALIGN BACKEND_ALIGN
#define CHUNK_SEAL_LEN FORMAT_CHUNK_SEAL_LEN
#define CHUNK_FILE_MAX(chunk_size) FORMAT_CHUNK_FILE_MAX (chunk_size)
/* Room for a chunk file image of chunk_size raw bytes stored as is,
 * padded to whole CHUNK_ALIGN blocks. */
#define CHUNK_IMAGE_ROOM(chunk_size)               \
  ((CHUNK_FILE_MAX (chunk_size) + CHUNK_ALIGN - 1) \
   & ~(size_t) (CHUNK_ALIGN - 1))

struct chunk_header {
  uint32_t version;
  uint32_t compression;
  uint32_t raw_size;
  uint32_t payload_size;
  uint32_t payload_crc;
};

void chunk_header_encode (const struct chunk_header *h, unsigned char *out);
/* Validate and decode a header; max_raw bounds raw_size.  The file
 * length len must be exactly what the header says. */
int chunk_header_parse (const unsigned char *buf, size_t len, uint32_t max_raw,
                        struct chunk_header *h);

/* Per-thread state for compressing and loading chunks of a repository
 * in the clear. */
struct chunk_ctx;
struct chunk_ctx *chunk_ctx_new (uint32_t chunk_size, int level);
/* For repo: encrypted chunks with its keys when it is encrypted and
 * unlocked; when it is encrypted and not unlocked, the context can only
 * check chunks as stored (chunk_check_stored). */
struct chunk_ctx *chunk_ctx_for (const struct repo *repo, int level);
/* For the chunks of stream maps: in an encrypted repository they are
 * stored in the clear (version 1) under keyed names, so that gc and
 * verify can follow a file backup's chunks without the key; they hold
 * only keyed chunk names and chunk lengths (docs/repository-format.pod,
 * ENCRYPTION, says why that is safe to show). */
struct chunk_ctx *chunk_ctx_for_public (const struct repo *repo, int level);
void chunk_ctx_free (struct chunk_ctx *ctx);

/* The name of a chunk of data: SHA-256, or HMAC-SHA-256 under the id
 * key in an encrypted repository. */
int chunk_id (struct chunk_ctx *ctx, const void *data, size_t len,
              struct digest *out);

/* Compress data, named id (chunk_id), into a complete chunk file image
 * (header + payload, sealed in an encrypted repository), pointing *out
 * at ctx's buffer. */
int chunk_encode (struct chunk_ctx *ctx, const struct digest *id,
                  const void *data, size_t len, const unsigned char **out,
                  size_t *outlen);

/* The same, in place: the data is at mem + CHUNK_HEADER_LEN and the
 * chunk file image is made in mem itself, so that data compression
 * does not shrink is never copied.  mem must be CHUNK_ALIGN-aligned with
 * room for CHUNK_IMAGE_ROOM (chunk_size) bytes (the image may be
 * written padded, for O_DIRECT). */
int chunk_encode_in_place (struct chunk_ctx *ctx, const struct digest *id,
                           unsigned char *mem, size_t len, size_t *outlen);

/* Decode a complete chunk file image into out (capacity max_raw) and
 * check that it hashes to want.  Errors name the cause: bad header,
 * checksum mismatch, digest mismatch. */
int chunk_decode (struct chunk_ctx *ctx, const unsigned char *file,
                  size_t filelen, const struct digest *want, void *out,
                  uint32_t max_raw, size_t *rawlen);

/* What can be checked of a stored chunk file named want without the
 * key: its header, its length and its keyless check (version 2), or,
 * in a repository in the clear, everything chunk_decode checks.  Sets
 * *rawlen from the header.  Errors name the damage. */
int chunk_check_stored (struct chunk_ctx *ctx, const unsigned char *file,
                        size_t filelen, const struct digest *want,
                        uint32_t max_raw, size_t *rawlen);

/* Read the chunk file of d as stored (header and payload, not
 * checked) into buf of cap bytes; a file larger than cap is refused. */
int chunk_read_file (struct repo *repo, const struct digest *d, void *buf,
                     size_t cap, size_t *len);
/* Read chunk want from the repository into out.  On failure
 * get_error_kind() says whether the chunk is missing, damaged (its
 * stored bytes are wrong) or neither (it could not be read: it may be
 * whole). */
int chunk_load (struct repo *repo, struct chunk_ctx *ctx,
                const struct digest *want, void *out, size_t *rawlen);
/* What verify does with a chunk: chunk_load into buf when the content
 * can be checked (a repository in the clear, or unlocked), else the
 * keyless check of what is stored (chunk_check_stored).  Failures are
 * classified as chunk_load's. */
int chunk_verify (struct repo *repo, struct chunk_ctx *ctx,
                  const struct digest *want, void *buf, size_t *rawlen);

/* A hint that chunk_load will soon be asked for d: a backend across a
 * network starts fetching it, so that reading a stream keeps the link
 * busy instead of waiting a round trip per chunk. */
void chunk_prefetch (struct repo *repo, const struct digest *d);
/* Does chunk_prefetch do anything here (is working out what comes next
 * worth it)? */
bool chunk_prefetch_useful (const struct repo *repo);
/* How many chunks ahead a reader going through a whole disk in order
 * should name to chunk_prefetch (0: none; backend.h,
 * chunk_prefetch_depth). */
unsigned chunk_prefetch_depth (const struct repo *repo);

/* "chunks/ab/abcdef..." relative path. */
void chunk_relpath (const struct digest *d, char *out, size_t len);

#endif
