/* The S3 backend's side of gc.  Without locks, gc and backups keep
 * apart by leases (s3_lease.h): gc takes one, then waits until no
 * backup holds one; a backup that starts meanwhile sees gc's lease and
 * waits for it to end.  So while gc marks and sweeps, no backup runs,
 * and everything a finished backup refers to is in a manifest gc has
 * read.  (docs/repository-format.pod, S3 REPOSITORIES, says why this
 * is the first step and what lets gc run beside backups later.) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "s3.h"

#define DELETE_THREADS 8
/* A reservation older than this belongs to a backup that died (one
 * that runs this long keeps its ID: its commit is put-if-absent). */
#define RESERVATION_MAX_AGE (7 * 86400)

int
s3_gc_begin (struct backend *be, backend_notice_fn notice, void *notice_opaque)
{
  struct s3_backend *S = s3_of (be);
  struct s3_lease_scan scan;
  int lease_s = s3_lease_seconds ();

  if (lease_s == -1)
    return -1;
  if (s3_lease_take (&S->gc_lease, S->c, "gc", lease_s) == -1)
    return -1;
  S->collecting = true;
  if (s3_lease_scan (&S->gc_lease, true, &scan) == -1)
    goto fail;
  if (scan.live_gcs > 0) {
    set_error (0, "another gc is running on this repository");
    goto fail;
  }
  /* Backups that began before our lease was written finish first:
   * what they store is in no manifest yet.  Those that begin later
   * wait for us. */
  if (scan.live_writers > 0 && notice) {
    char msg[256];
    snprintf (msg, sizeof msg,
              "gc: waiting for %u running backup%s to finish (backups "
              "that start now wait for gc)",
              scan.live_writers, scan.live_writers == 1 ? "" : "s");
    notice (notice_opaque, msg);
  }
  while (scan.live_writers > 0) {
    struct timespec pause = { 1, 0 };
    nanosleep (&pause, NULL);
    if (s3_lease_check (&S->gc_lease, "gc") == -1
        || s3_lease_scan (&S->gc_lease, true, &scan) == -1)
      goto fail;
  }
  S->gc_server_now = scan.server_now;
  return 0;
fail:
  s3_gc_end (be);
  return -1;
}

void
s3_gc_end (struct backend *be)
{
  struct s3_backend *S = s3_of (be);

  if (!S->collecting)
    return;
  s3_lease_drop (&S->gc_lease);
  S->collecting = false;
}

struct sweep {
  struct s3_backend *S;
  enum backend_sweep what;
  backend_keep_fn keep;
  void *opaque;
  bool dry_run;
  struct s3_pool *pool;
  uint64_t *kept, *deleted, *bytes;
};

/* The digest in a key "chunks/XX/<hex>" or "indexes/<hex>.idx", or -1
 * for a key that is not ours (left alone). */
static int
key_digest (const char *key, enum backend_sweep what, struct digest *d)
{
  const char *hex = strrchr (key, '/') + 1;
  char buf[DIGEST_HEX_LEN + 1];
  size_t n = strlen (hex);

  if (what == SWEEP_INDEXES
        ? (n != DIGEST_HEX_LEN + 4 || strcmp (hex + DIGEST_HEX_LEN, ".idx"))
        : n != DIGEST_HEX_LEN)
    return -1;
  memcpy (buf, hex, DIGEST_HEX_LEN);
  buf[DIGEST_HEX_LEN] = '\0';
  return digest_from_hex (buf, d);
}

static int
one_object (void *opaque, const char *key, uint64_t size, time_t mtime)
{
  struct sweep *sw = opaque;

  if (sw->what == SWEEP_TMP) {
    /* A reservation of a backup that is long dead. */
    if (mtime + RESERVATION_MAX_AGE > sw->S->gc_server_now)
      return 0;
  }
  else {
    struct digest d;
    if (key_digest (key, sw->what, &d) == -1)
      return 0;
    if (sw->keep (sw->opaque, &d)) {
      (*sw->kept)++;
      return 0;
    }
    if (sw->what == SWEEP_INDEXES && !sw->dry_run)
      s3_cache_forget (sw->S->cache, &d);
  }
  (*sw->deleted)++;
  *sw->bytes += size;
  if (sw->dry_run)
    return 0;
  /* Stop before deleting under a lease that may have run out. */
  if (s3_lease_check (&sw->S->gc_lease, "gc") == -1)
    return -1;
  return s3_pool_delete (sw->pool, key);
}

/* No delete is sent under a lease that lapsed: backups may be running
 * again (a gc stopped with deletes queued must not send them when it
 * goes on). */
static int
gc_guard (void *opaque)
{
  return s3_lease_check (opaque, "gc");
}

int
s3_gc_sweep (struct backend *be, enum backend_sweep what, unsigned prefix,
             backend_keep_fn keep, void *opaque, bool dry_run,
             backend_notice_fn notice, void *notice_opaque, uint64_t *kept,
             uint64_t *deleted, uint64_t *bytes)
{
  struct s3_backend *S = s3_of (be);
  struct sweep sw = { .S = S,
                      .what = what,
                      .keep = keep,
                      .opaque = opaque,
                      .dry_run = dry_run,
                      .kept = kept,
                      .deleted = deleted,
                      .bytes = bytes };
  char list_prefix[32];
  int r;

  if (what == SWEEP_CHUNKS)
    snprintf (list_prefix, sizeof list_prefix, "chunks/%02x/", prefix & 0xff);
  else
    snprintf (list_prefix, sizeof list_prefix, "%s",
              what == SWEEP_INDEXES ? "indexes/" : "reserved/");
  if (s3_lease_check (&S->gc_lease, "gc") == -1)
    return -1;
  if (!dry_run
      && !(sw.pool = s3_pool_new (S->c, DELETE_THREADS, 1, gc_guard,
                                  &S->gc_lease)))
    return -1;
  r = s3_list (S->c, list_prefix, one_object, &sw);
  if (sw.pool) {
    if (s3_pool_wait (sw.pool) == -1)
      r = -1;
    s3_pool_free (sw.pool);
  }
  (void) notice;
  (void) notice_opaque;
  return r == 0 ? 0 : -1;
}
