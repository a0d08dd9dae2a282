/* The S3 backend: a repository in a bucket, under a prefix, reached
 * through s3_client.h.  Objects use the local layout's names as keys
 * (docs/repository-format.pod, S3 REPOSITORIES):
 *
 *   config, keys/<id>, chunks/XX/<hex>, indexes/<hex>.idx,
 *   backups/NAME/STAMP          the repository, as on a disk
 *   reserved/NAME/STAMP         a backup ID held by a running backup
 *   locks/writer-<rand>         a running backup's lease (s3_lease.h)
 *   locks/gc-<rand>             a running gc's lease
 *   quarantine/<hex>            chunks verify found damaged
 *
 * There is no flock and no rename: every object that must never be
 * replaced is written with If-None-Match: *, and gc is kept apart from
 * backups by leases (s3_lease.h) rather than locks. */
#ifndef VMB_BACKEND_S3_H
#define VMB_BACKEND_S3_H

#include <stdbool.h>

#include "backend/backend.h"
#include "common/vector.h"
#include "s3_cache.h"
#include "s3_client.h"
#include "s3_lease.h"
#include "s3_pool.h"
#include "s3_prefetch.h"

DEFINE_VECTOR_TYPE (digest_vector, struct digest);

extern const struct backend_ops backend_s3;

struct s3_backend {
  struct s3_client *c;
  char name[512];               /* s3://bucket/prefix, for messages */
  char *cache;                  /* s3_cache.h; NULL: none */
  struct s3_prefetch *prefetch; /* chunks read ahead (s3_prefetch.h) */
  /* The writer session (s3_writer.c). */
  bool writing;
  struct s3_lease writer_lease;
  struct s3_pool *uploads;
  /* What verify quarantined, listed when the session began (sorted),
   * for s3_chunk_kept; too many to keep: every chunk is asked about. */
  digest_vector quarantined;
  bool quarantine_unknown;
  /* gc (s3_gc.c): waiting for backups under one lease, at work under
   * another. */
  bool collecting;
  struct s3_lease gc_wait_lease, gc_lease;
  time_t gc_server_now;
};

static inline struct s3_backend *
s3_of (struct backend *be)
{
  return be->priv;
}

/* "chunks/XX/<hex>" into key (at least S3_KEY_MAX bytes). */
void s3_chunk_key (const struct digest *d, char *key);

/* s3_objects.c */
void s3_chunk_prefetch (struct backend *be, const struct digest *d);

/* s3_writer.c */
int s3_writer_begin (struct backend *be);
int s3_chunk_refresh (struct backend *be, int worker, const struct digest *d);
bool s3_chunk_kept (struct backend *be, const struct digest *d);
int s3_chunk_put (struct backend *be, int worker, const struct digest *d,
                  const unsigned char *enc, size_t len, bool check,
                  bool *stored);
int s3_writer_flush (struct backend *be, struct backend_stats *stats);
void s3_writer_end (struct backend *be);
/* Does the running writer session (if any) still hold its lease?  -1
 * with the error set if not: what it stored may be gone. */
int s3_writer_lease_check (struct backend *be);

/* Locked repositories (s3_writer.c): keep key's oldest version for the
 * repository's days from now; config, object-lock and key slots too. */
int s3_lock_extend (struct s3_client *c, const char *key);
int s3_lock_extend_shared (struct s3_client *c);

/* s3_objects.c: chunks, indexes */
int s3_chunk_get (struct backend *be, const struct digest *d,
                  unsigned char *buf, size_t cap, size_t *len);
int s3_chunk_quarantine (struct backend *be, const struct digest *d);
int s3_index_put (struct backend *be, const struct digest *id, int fd,
                  const char *tmppath, uint64_t len);
int s3_index_open (struct backend *be, const struct digest *id);
char *s3_tmpdir (struct backend *be);

/* s3_manifests.c */
int s3_manifest_reserve (struct backend *be, const char *name, int64_t time,
                         char **id);
void s3_manifest_unreserve (struct backend *be, const char *id);
int s3_manifest_reserve_id (struct backend *be, const char *id);
int s3_manifest_commit (struct backend *be, const char *id, const char *text);
int s3_manifest_get (struct backend *be, const char *id, size_t max,
                     char **text, size_t *len);
int s3_manifest_list (struct backend *be, const char *name, char ***ids,
                      size_t *n);
int s3_manifest_delete (struct backend *be, const char *id);

/* s3_keys.c */
int s3_key_list (struct backend *be, char (*ids)[BACKEND_KEY_ID_LEN + 1],
                 size_t max, size_t *n);
int s3_key_get (struct backend *be, const char *id, char **text, size_t *len);
int s3_key_put (struct backend *be, const char *id, const char *text,
                size_t len);
int s3_key_delete (struct backend *be, const char *id);

/* s3_gc.c */
int s3_gc_begin (struct backend *be, backend_notice_fn notice,
                 void *notice_opaque);
int s3_gc_sweep (struct backend *be, enum backend_sweep what, unsigned prefix,
                 backend_keep_fn keep, void *opaque, bool dry_run,
                 backend_notice_fn notice, void *notice_opaque, uint64_t *kept,
                 uint64_t *deleted, uint64_t *bytes);
void s3_gc_end (struct backend *be);

#endif
