/* The S3 backend's side of gc.  Without locks, gc and backups keep
 * apart by leases (s3_lease.h).  gc first waits, under a lease
 * "gcwait" that backups ignore, for a moment when no backup runs; then
 * it takes a lease "gc", which backups that start wait for, and looks
 * again: a backup that began meanwhile is let finish (gc steps back and
 * waits again).  So while gc marks and sweeps, no backup runs, and
 * everything a finished backup refers to is in a manifest gc has read;
 * and backups wait only for gc's own work, never for each other.  A gc
 * kept waiting longer than its patience (backups that never stop
 * overlapping) holds its "gc" lease while it waits, as a writer-
 * preferring lock would.  (docs/repository-format.pod, S3
 * REPOSITORIES.) */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/error.h"
#include "common/units.h"
#include "s3.h"

#define DELETE_THREADS 8
/* A reservation older than this belongs to a backup that died (one
 * that runs this long keeps its ID: its commit is put-if-absent). */
#define RESERVATION_MAX_AGE (7 * 86400)
/* How long gc waits for a moment without backups before it makes new
 * ones wait for it ($VMBACKUP_S3_GC_PATIENCE, seconds). */
#define GC_PATIENCE_DEFAULT 3600

static int
gc_patience (void)
{
  return s3_env_int ("VMBACKUP_S3_GC_PATIENCE", GC_PATIENCE_DEFAULT, 0,
                     30 * 86400);
}

/* A second, and up to half a second more, so that a gc and a backup
 * that stepped back from each other do not meet again in step. */
static void
pause_a_second (void)
{
  unsigned char r = 0;
  struct timespec ts = { 1, 0 };

  (void) RAND_bytes (&r, 1);
  ts.tv_nsec = (long) r * (500000000L / 256);
  nanosleep (&ts, NULL);
}

static void
say_waiting (backend_notice_fn notice, void *opaque, unsigned writers,
             bool holding)
{
  char msg[256];

  if (!notice)
    return;
  snprintf (msg, sizeof msg,
            holding ? "gc: waiting for %u running backup%s to finish "
                      "(backups that start now wait for gc)"
                    : "gc: waiting for %u running backup%s to finish "
                      "(backups may still start meanwhile)",
            writers, writers == 1 ? "" : "s");
  notice (opaque, msg);
}

/* Take the "gc" lease and look again.  1: no backup runs, gc may work;
 * 0: one does (scan says how many); -1: error. */
static int
try_to_work (struct s3_backend *S, int lease_s, struct s3_lease_scan *scan)
{
  if (s3_lease_take (&S->gc_lease, S->c, "gc", lease_s) == -1
      || s3_lease_scan (&S->gc_lease, true, scan) == -1)
    return -1;
  /* An older vmbackup's gc does not know our "gcwait" lease. */
  if (scan->live_gcs > 0) {
    set_error (0, "another gc is running on this repository");
    return -1;
  }
  return scan->live_writers == 0;
}

int
s3_gc_begin (struct backend *be, backend_notice_fn notice, void *notice_opaque)
{
  struct s3_backend *S = s3_of (be);
  struct s3_lease_scan scan;
  int lease_s = s3_lease_seconds ();
  int patience = gc_patience ();
  double since = now_monotonic ();
  bool told = false;

  if (lease_s == -1 || patience == -1)
    return -1;
  if (s3_lease_take (&S->gc_wait_lease, S->c, "gcwait", lease_s) == -1)
    return -1;
  S->collecting = true;
  if (s3_lease_scan (&S->gc_wait_lease, true, &scan) == -1)
    goto fail;
  if (scan.live_gcs + scan.live_gcs_waiting > 0) {
    set_error (0, "another gc is running on this repository");
    goto fail;
  }
  /* Politely: backups come and go while we wait for a moment with
   * none. */
  while (scan.live_writers > 0 && now_monotonic () - since < patience) {
    if (!told)
      say_waiting (notice, notice_opaque, scan.live_writers, false);
    told = true;
    pause_a_second ();
    if (s3_lease_check (&S->gc_wait_lease, "gc") == -1
        || s3_lease_scan (&S->gc_wait_lease, true, &scan) == -1)
      goto fail;
    if (scan.live_writers > 0)
      continue;
    int ours = try_to_work (S, lease_s, &scan);
    if (ours == -1)
      goto fail;
    if (ours == 1)
      goto work;
    /* A backup began just now: let it run. */
    s3_lease_drop (&S->gc_lease);
  }
  /* No backup ran, or our patience ran out: from now on backups that
   * start wait for us, and we wait for those that run. */
  if (try_to_work (S, lease_s, &scan) == -1)
    goto fail;
  if (scan.live_writers > 0)
    say_waiting (notice, notice_opaque, scan.live_writers, true);
  while (scan.live_writers > 0) {
    pause_a_second ();
    if (s3_lease_check (&S->gc_lease, "gc") == -1
        || s3_lease_scan (&S->gc_lease, true, &scan) == -1)
      goto fail;
  }
work:
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
  s3_lease_drop (&S->gc_wait_lease);
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
    uint64_t locked;
    if (s3_pool_wait (sw.pool) == -1)
      r = -1;
    locked = s3_pool_kept (sw.pool);
    s3_pool_free (sw.pool);
    if (locked > 0) {
      /* Unreferenced, but Object Lock keeps them: a later gc, after
       * their retention, deletes them. */
      *deleted -= locked;
      (*kept) += locked;
      if (notice) {
        char msg[256];
        snprintf (msg, sizeof msg,
                  BACKEND_NOTICE_LOCKED "%llu unreferenced %s whose "
                                        "Object Lock "
                                        "retention has not ended",
                  (unsigned long long) locked,
                  what == SWEEP_CHUNKS      ? "chunks"
                    : what == SWEEP_INDEXES ? "indexes"
                                            : "reservations");
        notice (notice_opaque, msg);
      }
    }
  }
  return r == 0 ? 0 : -1;
}
