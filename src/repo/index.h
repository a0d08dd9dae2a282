/* Per-disk index: the digest of every chunk of one disk, in order.
 *
 *   0  magic "VMBINDX1"          8  u32 version (1)
 *   12 u32 chunk size            16 u64 disk size
 *   24 u64 chunk count           32 32 bytes reserved (zero)
 *   64 chunk count x 32-byte SHA-256 digests (all zero: a zero chunk)
 *   then a 32-byte SHA-256 of everything before it.
 *
 * The file is stored as indexes/<that trailer digest, hex>.idx.  It is
 * written by position (pwrite) as chunks complete in any order, so a
 * backup of any size needs no digest list in memory. */
#ifndef VMB_INDEX_H
#define VMB_INDEX_H

#include <stdint.h>

#include "common/digest.h"
#include "common/format.h"
#include "repo.h"

#define INDEX_MAGIC "VMBINDX1"
#define INDEX_HEADER_LEN FORMAT_INDEX_HEADER_LEN

struct index_header {
  uint32_t chunk_size;
  uint64_t disk_size;
  uint64_t chunk_count;
};

void index_header_encode (const struct index_header *h, unsigned char *out);
/* Validate a header against the total file length. */
int index_header_parse (const unsigned char *buf, uint64_t filelen,
                        struct index_header *h);

struct index_writer {
  struct repo *repo;
  struct index_header hdr;
  int fd;
  char *tmppath;
};

int index_writer_open (struct index_writer *w, struct repo *repo,
                       uint64_t disk_size);
int index_writer_set (struct index_writer *w, uint64_t i,
                      const struct digest *d);
/* Seal the index; *id receives its name. */
int index_writer_commit (struct index_writer *w, struct digest *id);
void index_writer_abort (struct index_writer *w);

/* Check a complete index in the temporary file tmppath (open as fd)
 * against its name id and the repository, and publish it as
 * indexes/<id>.idx (an existing one is kept, not rewritten).  fd is
 * closed and the temporary file gone, whatever the outcome. */
int index_publish (struct repo *repo, int fd, const char *tmppath,
                   const struct digest *id);

struct index_reader {
  struct index_header hdr;
  int fd;
};

/* Open indexes/<id>.idx and check its length, header and trailer hash. */
int index_reader_open (struct index_reader *r, struct repo *repo,
                       const struct digest *id);
int index_reader_get (struct index_reader *r, uint64_t i, struct digest *d);
void index_reader_close (struct index_reader *r);

/* The length of the largest index (one of a FORMAT_MAX_DISK_SIZE
 * disk) at this chunk size. */
uint64_t index_max_len (uint32_t chunk_size);

/* Check a whole index image in memory (fuzzing, tests). */
int index_check_buffer (const unsigned char *buf, uint64_t len,
                        struct index_header *h);

#endif
