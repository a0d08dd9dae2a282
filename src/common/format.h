/* Sizes fixed by the repository format (docs/repository-format.pod)
 * that layers below repo/ need too: the protocol codec bounds its
 * messages with them and the backends check chunk sizes.  repo/ names
 * them CHUNK_HEADER_LEN, INDEX_HEADER_LEN, MANIFEST_MAX, REPO_*_CHUNK. */
#ifndef VMB_FORMAT_H
#define VMB_FORMAT_H

#include <stdint.h>

#define FORMAT_VERSION 1
#define FORMAT_MIN_CHUNK (64 * 1024)
#define FORMAT_MAX_CHUNK (16 * 1024 * 1024)
#define FORMAT_CHUNK_HEADER_LEN 32
/* What an encrypted (version 2) chunk file has after its payload: the
 * AEAD tag (16), the nonce (12) and the keyless check (16). */
#define FORMAT_CHUNK_SEAL_LEN 44
/* The largest chunk file a repository of chunks of C bytes can hold:
 * data that compression does not shrink is stored as is. */
#define FORMAT_CHUNK_FILE_MAX(c) \
  (FORMAT_CHUNK_HEADER_LEN + (size_t) (c) + FORMAT_CHUNK_SEAL_LEN)
#define FORMAT_INDEX_HEADER_LEN 64
#define FORMAT_MANIFEST_MAX (1 << 20)
/* The largest disk (or stream map) an index may describe: 1 PiB.  It
 * bounds every index: at most 96 + 32 * (1 PiB / chunk size) bytes. */
#define FORMAT_MAX_DISK_SIZE (UINT64_C (1) << 50)

#endif
