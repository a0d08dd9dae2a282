/* The local backend's writer session: chunks written to tmp/, published
 * in batches by a thread that syncs the file system once per batch and
 * renames (see local.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "local.h"

/* Publish after this much new data: bounds what one syncfs() flushes and
 * how much a crash can throw away. */
#define PUBLISH_BYTES (256ULL << 20)
#define PUBLISH_CHUNKS 256

struct pending_chunk {
  struct digest digest;
  char tmp[64]; /* relative to the repository */
  char final[128];
};

static void *publisher_main (void *opaque);

/* Sync and rename a batch taken off the pending list.  Runs on the
 * publisher thread, without L->w.lock, so that the workers keep hashing
 * and compressing during the sync. */
static int
publish (struct local *L, struct pending_chunk *batch, size_t n, int lock_fd)
{
  int r = 0;

  if (n && syncfs (L->dirfd) == -1) {
    set_error (errno, "sync repository %s", L->path);
    r = -1;
  }
  for (size_t i = 0; i < n; i++) {
    int rr;

    if (r == -1) {
      unlinkat (L->dirfd, batch[i].tmp, 0);
      continue;
    }
    /* A gc that saw an older copy of this very chunk must not delete
     * our new one after we put it in place: rename under the lock. */
    if (chunk_prefix_lock (lock_fd, batch[i].digest.b[0], 0) == -1) {
      r = -1;
      unlinkat (L->dirfd, batch[i].tmp, 0);
      continue;
    }
    /* Never replace a chunk file: one that appeared meanwhile (another
     * writer's copy of the same data) stays as it is. */
    rr = renameat2 (L->dirfd, batch[i].tmp, L->dirfd, batch[i].final,
                    RENAME_NOREPLACE);
    if (rr == -1 && errno == EINVAL) /* file system without it */
      rr = renameat (L->dirfd, batch[i].tmp, L->dirfd, batch[i].final);
    else if (rr == -1 && errno == EEXIST) {
      unlinkat (L->dirfd, batch[i].tmp, 0);
      rr = 0;
    }
    chunk_prefix_unlock (lock_fd, batch[i].digest.b[0]);
    if (rr == -1) {
      set_error (errno, "publish %s", batch[i].final);
      unlinkat (L->dirfd, batch[i].tmp, 0);
      r = -1;
    }
  }
  free (batch);
  return r;
}

static void *
publisher_main (void *opaque)
{
  struct local *L = opaque;

  pthread_mutex_lock (&L->w.lock);
  for (;;) {
    struct pending_batch b;

    while (L->w.queued == 0 && !L->w.stopping)
      pthread_cond_wait (&L->w.cond, &L->w.lock);
    if (L->w.queued == 0)
      break;
    b = L->w.queue[0];
    memmove (&L->w.queue[0], &L->w.queue[1], (L->w.queued - 1) * sizeof b);
    L->w.queued--;
    L->w.publishing = true;
    pthread_mutex_unlock (&L->w.lock);
    int r = publish (L, b.items, b.n, L->w.lock_fd);
    pthread_mutex_lock (&L->w.lock);
    L->w.publishing = false;
    if (r == -1 && !L->w.failed) {
      L->w.failed = true;
      snprintf (L->w.error, sizeof L->w.error, "%s", get_error ());
    }
    pthread_cond_broadcast (&L->w.cond);
  }
  pthread_mutex_unlock (&L->w.lock);
  return NULL;
}

/* Under L->w.lock: hand a batch to the publisher, waiting while it is
 * behind (the queue bounds how much unpublished data piles up). */
static int
enqueue (struct local *L, struct pending_chunk *items, size_t n)
{
  while (L->w.queued == LOCAL_QUEUE && !L->w.failed)
    pthread_cond_wait (&L->w.cond, &L->w.lock);
  if (L->w.failed) {
    for (size_t i = 0; i < n; i++)
      unlinkat (L->dirfd, items[i].tmp, 0);
    free (items);
    set_error (0, "%s", L->w.error);
    return -1;
  }
  L->w.queue[L->w.queued].items = items;
  L->w.queue[L->w.queued].n = n;
  L->w.queued++;
  pthread_cond_broadcast (&L->w.cond);
  return 0;
}

/* Under L->w.lock: take the pending list, leaving a fresh one. */
static struct pending_chunk *
take_pending (struct local *L, size_t *n)
{
  struct pending_chunk *batch = L->w.pending;
  struct pending_chunk *fresh = calloc (PUBLISH_CHUNKS, sizeof *fresh);

  if (fresh == NULL) {
    *n = 0;
    return NULL;
  }
  *n = L->w.npending;
  L->w.pending = fresh;
  L->w.npending = 0;
  L->w.pending_bytes = 0;
  return batch;
}

/* Under L->w.lock: is d already waiting to be published? */
static bool
is_pending (const struct local *L, const struct digest *d)
{
  for (size_t i = 0; i < L->w.npending; i++)
    if (digest_cmp (&L->w.pending[i].digest, d) == 0)
      return true;
  return false;
}

/* Write a chunk file around the page cache where the file system allows
 * it: the data is read again only by restore and verify, and the copy
 * into the page cache was an eighth of a backup's CPU time.  O_DIRECT
 * wants whole blocks, so the padded buffer goes out and the file is cut
 * back to its length. */
static int
write_chunk_file (int fd, const unsigned char *enc, size_t len)
{
  size_t padded = (len + BACKEND_ALIGN - 1) & ~(size_t) (BACKEND_ALIGN - 1);
  int flags = fcntl (fd, F_GETFL);

  if (flags != -1 && fcntl (fd, F_SETFL, flags | O_DIRECT) == 0) {
    if (write_full (fd, enc, padded, 0) == 0 && ftruncate (fd, len) == 0)
      return 0;
    if (errno != EINVAL)
      return -1;
    /* Refused after all (some file systems accept the flag but not the
     * I/O): fall back to the page cache. */
    fcntl (fd, F_SETFL, flags);
  }
  return write_full (fd, enc, len, 0);
}

int
local_writer_begin (struct backend *be)
{
  struct local *L = local_of (be);

  memset (&L->w, 0, sizeof L->w);
  L->w.reg.fd = -1;
  L->w.lock_fd = -1;
  pthread_mutex_init (&L->w.lock, NULL);
  pthread_cond_init (&L->w.cond, NULL);
  L->w.active = true;
  L->w.lock_fd = chunk_lock_open (L);
  if (L->w.lock_fd == -1)
    return -1;
  L->w.pending = calloc (PUBLISH_CHUNKS, sizeof *L->w.pending);
  if (L->w.pending == NULL) {
    set_error (errno, "calloc");
    return -1;
  }
  if (writer_register (L, &L->w.reg) == -1)
    return -1;
  if (pthread_create (&L->w.publisher, NULL, publisher_main, L) != 0) {
    set_error (0, "cannot start the publisher thread");
    return -1;
  }
  L->w.publisher_started = true;
  return 0;
}

int
local_chunk_refresh (struct backend *be, int worker, const struct digest *d)
{
  struct local *L = local_of (be);
  int r = local_chunk_exists_refresh (L, worker, d);

  if (r == 0) {
    /* Written by this session but not yet published (a disk that
     * repeats itself): do not write it again. */
    SCOPED_LOCK (&L->w.lock);
    r = is_pending (L, d);
  }
  return r;
}

int
local_chunk_put (struct backend *be, int worker, const struct digest *d,
                 const unsigned char *enc, size_t enclen, bool check,
                 bool *stored)
{
  struct local *L = local_of (be);
  char rel[128], tmprel[64];
  int fd, r;

  *stored = false;
  local_chunk_relpath (d, rel, sizeof rel);
  if (check) {
    /* A caller that did not check first (the server, for a client that
     * may lie): an existing chunk is refreshed, never rewritten. */
    r = local_chunk_refresh (be, worker, d);
    if (r != 0)
      return r == 1 ? 0 : -1;
  }
  strcpy (tmprel, "tmp/.chunk-XXXXXX");
  {
    CLEANUP_FREE char *full = local_path (L, "%s", tmprel);
    if (full == NULL || (fd = mkostemp (full, O_CLOEXEC)) == -1) {
      set_error (errno, "create chunk in %s/tmp", L->path);
      return -1;
    }
    strcpy (tmprel, full + strlen (L->path) + 1);
  }
  if (write_chunk_file (fd, enc, enclen) == -1) {
    set_error (errno, "write chunk to %s", L->path);
    close (fd);
    unlinkat (L->dirfd, tmprel, 0);
    return -1;
  }
  close (fd);

  struct pending_chunk *batch = NULL;
  size_t nbatch = 0;
  pthread_mutex_lock (&L->w.lock);
  if (is_pending (L, d)) {
    /* Another worker stored the same data meanwhile. */
    pthread_mutex_unlock (&L->w.lock);
    unlinkat (L->dirfd, tmprel, 0);
    return 0;
  }
  L->w.pending[L->w.npending].digest = *d;
  snprintf (L->w.pending[L->w.npending].tmp, sizeof L->w.pending->tmp, "%s",
            tmprel);
  snprintf (L->w.pending[L->w.npending].final, sizeof L->w.pending->final,
            "%s", rel);
  L->w.npending++;
  L->w.pending_bytes += enclen;
  *stored = true;
  r = L->w.failed ? (set_error (0, "%s", L->w.error), -1) : 0;
  if (r == 0
      && (L->w.npending == PUBLISH_CHUNKS
          || L->w.pending_bytes >= PUBLISH_BYTES)) {
    batch = take_pending (L, &nbatch);
    r = batch ? enqueue (L, batch, nbatch) : (set_error (ENOMEM, "store"), -1);
  }
  pthread_mutex_unlock (&L->w.lock);
  return r;
}

int
local_writer_flush (struct backend *be, struct backend_stats *stats)
{
  struct local *L = local_of (be);
  struct pending_chunk *batch;
  size_t n;
  int r;

  pthread_mutex_lock (&L->w.lock);
  batch = take_pending (L, &n);
  r = batch ? enqueue (L, batch, n) : (set_error (ENOMEM, "store"), -1);
  while (r == 0 && (L->w.queued > 0 || L->w.publishing))
    pthread_cond_wait (&L->w.cond, &L->w.lock);
  if (r == 0 && L->w.failed) {
    set_error (0, "%s", L->w.error);
    r = -1;
  }
  pthread_mutex_unlock (&L->w.lock);
  if (r == -1)
    return -1;
  /* The renames themselves must be durable before a manifest refers to
   * the chunks. */
  if (syncfs (L->dirfd) == -1) {
    set_error (errno, "sync repository %s", L->path);
    return -1;
  }
  return 0;
}

void
local_writer_end (struct backend *be)
{
  struct local *L = local_of (be);

  if (!L->w.active)
    return;
  if (L->w.publisher_started) {
    pthread_mutex_lock (&L->w.lock);
    L->w.stopping = true;
    pthread_cond_broadcast (&L->w.cond);
    pthread_mutex_unlock (&L->w.lock);
    pthread_join (L->w.publisher, NULL);
    L->w.publisher_started = false;
  }
  for (size_t i = 0; i < L->w.npending; i++)
    unlinkat (L->dirfd, L->w.pending[i].tmp, 0);
  L->w.npending = 0;
  free (L->w.pending);
  L->w.pending = NULL;
  writer_unregister (&L->w.reg);
  if (L->w.lock_fd >= 0)
    close (L->w.lock_fd);
  L->w.lock_fd = -1;
  pthread_mutex_destroy (&L->w.lock);
  pthread_cond_destroy (&L->w.cond);
  L->w.active = false;
}
