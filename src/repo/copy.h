/* Copying backups from one repository to another (vmbackup copy), over
 * the backend interface only, so any two backends will do.
 *
 * A copied backup keeps its ID.  Everything it references goes with it:
 * the chunks of its disks, configuration files and file streams, the
 * indexes that list them and the stream maps of a file backup; of the
 * chunks only those the target lacks are sent.  Two repositories that
 * share their keys (both in the clear, or made with 'init --key-from')
 * name chunks alike, so chunks go as they are stored and the indexes
 * come out the same; otherwise each chunk is decrypted (or read in the
 * clear), named, compressed and sealed again for the target, and the
 * indexes, stream maps and manifest are rewritten with the new names.
 *
 * Order, as in a backup: one writer session in the target for the whole
 * run (so a gc running beside it keeps what it stored or found), chunks
 * first, then the indexes that name them, the manifest last, under an
 * ID reserved at the start.  A killed copy leaves nothing visible; run
 * again, it skips the backups the target has and finds the chunks it
 * had sent. */
#ifndef VMB_COPY_H
#define VMB_COPY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/vector.h"
#include "digest_set.h"
#include "manifest.h"
#include "repo.h"
#include "store.h"

struct copy_stats {
  uint64_t chunks_sent;    /* chunks the target lacked (dry run: would) */
  uint64_t bytes_sent;     /* their stored size (dry run, keys differing:
                         * the source's, an estimate) */
  uint64_t chunks_present; /* chunks the target had */
};

DEFINE_VECTOR_TYPE (copy_digest_vector, struct digest);

struct copy {
  struct repo *from, *to;
  bool dry_run;
  bool same_keys;    /* chunks go as stored; names do not change */
  char **target_ids; /* the target's backups when the run began, sorted */
  size_t n_target_ids;
  struct store store; /* the writer session in the target */
  bool writing;
  int worker;
  struct chunk_ctx *from_ctx, *to_ctx;
  unsigned char *file; /* a chunk file, aligned for the backend */
  size_t filecap;
  unsigned char *raw; /* a chunk's data */
  /* Source chunks already handled in this run, each with the index of
   * its target name in names. */
  struct digest_set done;
  copy_digest_vector names;
  /* Target names handled (keys differing: two source chunks never
   * share one, but a second check costs nothing). */
  struct digest_set target_done;
  struct copy_stats part; /* of the disk or stream being copied */
  uint64_t unflushed_bytes, unflushed_chunks; /* sent since the last flush */
  bool last_missing; /* the target lacked the last chunk asked about */
};

/* Get ready to copy from one repository to another: both open and, if
 * encrypted, unlocked.  Refused: the same repository twice, different
 * chunk sizes, a locked encrypted repository. */
int copy_open (struct copy *c, struct repo *from, struct repo *to,
               bool dry_run);
void copy_close (struct copy *c);

/* Copy backup m (loaded from c->from) into c->to under its ID.  1: the
 * target has it already (nothing done); 0: copied (dry run: the stats
 * say what would be sent); -1 with the error set.  st gets this
 * backup's counts. */
int copy_backup (struct copy *c, const struct manifest *m,
                 struct copy_stats *st);

/* copy_data.c: the target's index for source index src, its chunks
 * copied (dry run: only counted, *dst = *src). */
int copy_index (struct copy *c, const struct digest *src, uint64_t size,
                struct digest *dst);
/* The same for a stream map stored under index src, describing count
 * chunks of a stream of size bytes. */
int copy_stream (struct copy *c, const struct digest *src, uint64_t count,
                 uint64_t size, struct digest *dst);

/* Make every chunk sent so far durable and visible. */
int copy_flush (struct copy *c);

#endif
