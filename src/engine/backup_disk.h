/* Back up one disk from an NBD export into the repository: read chunks
 * (several NBD requests in flight, holes skipped through block status),
 * then on worker threads zero-check, hash, dedup, compress and store, and
 * record each digest in the disk's index. */
#ifndef VMB_BACKUP_DISK_H
#define VMB_BACKUP_DISK_H

#include <stdint.h>

#include <libnbd.h>

#include "common/digest.h"
#include "repo/index.h"
#include "repo/repo.h"
#include "repo/store.h"

/* Called from the reading thread with bytes done so far. */
typedef void (*progress_fn) (void *opaque, uint64_t done, uint64_t total);

struct backup_disk_params {
  struct repo *repo;
  struct store *store;
  struct nbd_handle *nbd; /* connected, with base:allocation if wanted */
  const char *name;       /* for error messages */
  uint64_t size;          /* 0, or the true size when the export
                                 * rounds it up (raw files whose length
                                 * is not a multiple of 512) */
  int compression_level;
  /* Incremental: the previous backup's index of this disk (same disk and
   * chunk size) and the export's dirty-bitmap context.  A chunk without
   * a dirty byte keeps its previous digest and is not read, as long as
   * that chunk is still in the repository.  Both NULL: read everything. */
  struct index_reader *prev;
  const char *dirty_context;
  /* Without a dirty bitmap: the previous backup's index of this disk
   * (index_reader_open checks its chunk size is the repository's),
   * opened after store_begin, or NULL.  A chunk read
   * whose digest is the one at the same place there needs no question
   * to a repository that keeps named chunks for the session
   * (store_refresh_named). */
  struct index_reader *named;
  progress_fn progress;
  void *progress_opaque;
};

struct backup_disk_result {
  uint64_t size;
  struct digest index;
  uint64_t stored_new;      /* bytes of new chunk files */
  uint64_t bytes_read;      /* data actually read from the source */
  uint64_t bytes_unchanged; /* incremental: kept from the previous
                                 * backup without reading */
};

int backup_disk (const struct backup_disk_params *p,
                 struct backup_disk_result *res);

#endif
