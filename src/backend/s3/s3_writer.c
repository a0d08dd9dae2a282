/* The S3 backend's writer session: a lease that keeps gc away while the
 * backup runs (s3_lease.h), and new chunks sent by a pool of request
 * threads (s3_pool.h) while the workers go on reading and compressing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "s3.h"

/* Requests in flight and the bytes they may hold: a few connections
 * fill a link; 64 MiB is sixteen 4 MiB chunks. */
#define UPLOAD_THREADS 8
#define UPLOAD_BYTES (64u << 20)

/* Nothing is sent under a lease that lapsed. */
static int
writer_guard (void *opaque)
{
  return s3_lease_check (opaque, "backup");
}

/* More quarantined chunks than this (a repository in trouble): the
 * session asks about every chunk rather than keep them all. */
#define QUARANTINE_KEPT 65536

static int
collect_quarantined (void *opaque, const char *key, uint64_t size,
                     time_t mtime)
{
  struct s3_backend *S = opaque;
  const char *hex = strrchr (key, '/') + 1;
  struct digest d;

  (void) size, (void) mtime;
  if (S->quarantine_unknown || digest_from_hex (hex, &d) == -1)
    return 0; /* not a name of ours: nothing to avoid */
  if (S->quarantined.len == QUARANTINE_KEPT) {
    S->quarantine_unknown = true;
    return 0;
  }
  if (digest_vector_append (&S->quarantined, d) == -1) {
    set_error (ENOMEM, "quarantine listing");
    return -1;
  }
  return 0;
}

static int
digest_order (const void *a, const void *b)
{
  return digest_cmp (a, b);
}

/* A chunk that verify quarantined must be stored again by the next
 * backup of the same data: s3_chunk_kept needs to know them. */
static int
list_quarantined (struct s3_backend *S)
{
  if (s3_list (S->c, "quarantine/", collect_quarantined, S) == -1)
    return -1;
  qsort (S->quarantined.ptr, S->quarantined.len, sizeof (struct digest),
         digest_order);
  return 0;
}

static void
forget_quarantined (struct s3_backend *S)
{
  digest_vector_reset (&S->quarantined);
  S->quarantine_unknown = false;
}

int
s3_writer_begin (struct backend *be)
{
  struct s3_backend *S = s3_of (be);
  int lease_s = s3_lease_seconds ();

  if (lease_s == -1)
    return -1;
  /* Take a lease, then look for a gc: one that runs (or started at the
   * same moment and saw us) has the repository to itself until it
   * ends, so we step back and wait.  A gc that died stops counting
   * when its lease runs out. */
  for (bool told = false;; told = true) {
    struct s3_lease_scan scan;
    struct timespec pause = { 1, 0 };

    if (s3_lease_take (&S->writer_lease, S->c, "writer", lease_s) == -1)
      return -1;
    if (s3_lease_scan (&S->writer_lease, false, &scan) == -1) {
      s3_lease_drop (&S->writer_lease);
      return -1;
    }
    if (scan.live_gcs == 0)
      break;
    s3_lease_drop (&S->writer_lease);
    /* writer_begin has no one else to tell, and a backup that does not
     * move must say why. */
    if (!told)
      /* may print: the wait for gc */
      fprintf (stderr,
               "vmbackup: %s: waiting for a gc to finish deleting unused "
               "chunks\n",
               S->name);
    nanosleep (&pause, NULL);
  }
  /* Locked: what every backup needs (config, key slots) is kept as
   * long as the newest backup. */
  if (s3_lock_extend_shared (S->c) == -1 || list_quarantined (S) == -1) {
    forget_quarantined (S);
    s3_lease_drop (&S->writer_lease);
    return -1;
  }
  S->uploads = s3_pool_new (S->c, UPLOAD_THREADS, UPLOAD_BYTES, writer_guard,
                            &S->writer_lease);
  if (!S->uploads) {
    forget_quarantined (S);
    s3_lease_drop (&S->writer_lease);
    return -1;
  }
  S->writing = true;
  return 0;
}

int
s3_writer_lease_check (struct backend *be)
{
  struct s3_backend *S = s3_of (be);

  if (!S->writing)
    return 0;
  return s3_lease_check (&S->writer_lease, "backup");
}

/* While our lease lives no gc works (gc works only once no writer's
 * lease lives, and a writer waits for a gc at work), so a chunk that a
 * backup named when our lease was taken stays; verify's quarantine is
 * the one other way out of chunks/.  In an immutable repository a reuse
 * must extend the chunk's retention: it is asked about. */
bool
s3_chunk_kept (struct backend *be, const struct digest *d)
{
  struct s3_backend *S = s3_of (be);

  return S->writing && !S->quarantine_unknown
    && s3_client_lock_days (S->c, NULL) == 0
    && (S->quarantined.len == 0
        || !bsearch (d, S->quarantined.ptr, S->quarantined.len, sizeof *d,
                     digest_order));
}

/* No need to move the chunk's LastModified: while our lease lives, no
 * gc runs, and gc runs only once no lease of a writer lives. */
int
s3_chunk_refresh (struct backend *be, int worker, const struct digest *d)
{
  struct s3_backend *S = s3_of (be);
  char key[S3_KEY_MAX];

  /* Written by this session and still on its way (a disk that repeats
   * itself): do not send it again. */
  if (S->uploads && s3_pool_has (S->uploads, d))
    return 1;
  s3_chunk_key (d, key);
  if (s3_client_lock_days (S->c, NULL) > 0) {
    /* Locked: a chunk reused is kept as long as this backup. */
    if (s3_lock_extend (S->c, key) == 0)
      return 1;
    return get_errno () == ENOENT ? 0 : -1;
  }
  return s3_head (S->c, key, NULL);
}

int
s3_lock_extend (struct s3_client *c, const char *key)
{
  int days = s3_client_lock_days (c, NULL);

  if (days <= 0)
    return 0;
  return s3_retention_extend (c, key, time (NULL) + (time_t) days * 86400);
}

static int
extend_key (void *opaque, const char *key, uint64_t size, time_t mtime)
{
  (void) size, (void) mtime;
  return s3_lock_extend (opaque, key);
}

int
s3_lock_extend_shared (struct s3_client *c)
{
  if (s3_client_lock_days (c, NULL) <= 0)
    return 0;
  if (s3_lock_extend (c, "config") == -1
      || s3_lock_extend (c, "object-lock") == -1)
    return -1;
  return s3_list (c, "keys/", extend_key, c);
}

int
s3_chunk_put (struct backend *be, int worker, const struct digest *d,
              const unsigned char *enc, size_t len, bool check, bool *stored)
{
  struct s3_backend *S = s3_of (be);
  char key[S3_KEY_MAX];

  *stored = false;
  if (!S->writing) {
    set_error (EINVAL, "chunk stored outside a writer session");
    return -1;
  }
  if (s3_lease_check (&S->writer_lease, "backup") == -1)
    return -1;
  if (check) {
    int r = s3_chunk_refresh (be, worker, d);
    if (r != 0)
      return r == 1 ? 0 : -1;
  }
  s3_chunk_key (d, key);
  if (s3_pool_put (S->uploads, d, key, enc, len) == -1)
    return -1;
  /* Whether it was there already we learn only when its answer comes:
   * writer_flush counts what was really created. */
  *stored = true;
  return 0;
}

int
s3_writer_flush (struct backend *be, struct backend_stats *stats)
{
  struct s3_backend *S = s3_of (be);
  uint64_t created, bytes;

  if (!S->writing)
    return 0;
  if (s3_pool_wait (S->uploads) == -1)
    return -1;
  s3_pool_counts (S->uploads, &created, &bytes);
  if (stats) {
    stats->new_chunks = created;
    stats->new_bytes = bytes;
  }
  return s3_lease_check (&S->writer_lease, "backup");
}

void
s3_writer_end (struct backend *be)
{
  struct s3_backend *S = s3_of (be);

  if (!S->writing)
    return;
  s3_pool_free (S->uploads);
  S->uploads = NULL;
  forget_quarantined (S);
  s3_lease_drop (&S->writer_lease);
  S->writing = false;
}
