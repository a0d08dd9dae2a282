/* Chunk store writer session (see store.h). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "remote_ops.h"
#include "store.h"

/* Publish after this much new data: bounds what one syncfs() flushes and
 * how much a crash can throw away. */
#define PUBLISH_BYTES (256ULL << 20)
#define PUBLISH_CHUNKS 256

struct pending_chunk {
  struct digest digest;
  char tmp[64];                 /* relative to the repository */
  char final[128];
};

static void *publisher_main (void *opaque);

int
store_begin (struct store *s, struct repo *repo)
{
  memset (s, 0, sizeof *s);
  s->repo = repo;
  s->writer.fd = -1;
  pthread_mutex_init (&s->lock, NULL);
  pthread_cond_init (&s->cond, NULL);
  if (repo->remote)
    return 0;                   /* the server keeps the session */
  s->lock_fd = chunk_lock_open (repo);
  if (s->lock_fd == -1)
    return -1;
  s->pending = calloc (PUBLISH_CHUNKS, sizeof *s->pending);
  if (s->pending == NULL) {
    set_error (errno, "calloc");
    return -1;
  }
  if (writer_register (repo, &s->writer) == -1)
    return -1;
  if (pthread_create (&s->publisher, NULL, publisher_main, s) != 0) {
    set_error (0, "cannot start the publisher thread");
    return -1;
  }
  s->publisher_started = true;
  return 0;
}

/* Sync and rename a batch taken off the pending list.  Runs on the
 * publisher thread, without s->lock, so that the workers keep hashing
 * and compressing during the sync. */
static int
publish (struct store *s, struct pending_chunk *batch, size_t n, int lock_fd)
{
  int r = 0;

  if (n && syncfs (s->repo->dirfd) == -1) {
    set_error (errno, "sync repository %s", s->repo->path);
    r = -1;
  }
  for (size_t i = 0; i < n; i++) {
    int rr;

    if (r == -1) {
      unlinkat (s->repo->dirfd, batch[i].tmp, 0);
      continue;
    }
    /* A gc that saw an older copy of this very chunk must not delete
     * our new one after we put it in place: rename under the lock. */
    if (chunk_prefix_lock (lock_fd, batch[i].digest.b[0], 0) == -1) {
      r = -1;
      unlinkat (s->repo->dirfd, batch[i].tmp, 0);
      continue;
    }
    /* Never replace a chunk file: one that appeared meanwhile (another
     * writer's copy of the same data) stays as it is. */
    rr = renameat2 (s->repo->dirfd, batch[i].tmp, s->repo->dirfd,
                    batch[i].final, RENAME_NOREPLACE);
    if (rr == -1 && errno == EINVAL)    /* file system without it */
      rr = renameat (s->repo->dirfd, batch[i].tmp, s->repo->dirfd,
                     batch[i].final);
    else if (rr == -1 && errno == EEXIST) {
      unlinkat (s->repo->dirfd, batch[i].tmp, 0);
      rr = 0;
    }
    chunk_prefix_unlock (lock_fd, batch[i].digest.b[0]);
    if (rr == -1) {
      set_error (errno, "publish %s", batch[i].final);
      unlinkat (s->repo->dirfd, batch[i].tmp, 0);
      r = -1;
    }
  }
  free (batch);
  return r;
}

static void *
publisher_main (void *opaque)
{
  struct store *s = opaque;

  pthread_mutex_lock (&s->lock);
  for (;;) {
    struct pending_batch b;

    while (s->queued == 0 && !s->stopping)
      pthread_cond_wait (&s->cond, &s->lock);
    if (s->queued == 0)
      break;
    b = s->queue[0];
    memmove (&s->queue[0], &s->queue[1], (s->queued - 1) * sizeof b);
    s->queued--;
    s->publishing = true;
    pthread_mutex_unlock (&s->lock);
    int r = publish (s, b.items, b.n, s->lock_fd);
    pthread_mutex_lock (&s->lock);
    s->publishing = false;
    if (r == -1 && !s->failed) {
      s->failed = true;
      snprintf (s->error, sizeof s->error, "%s", get_error ());
    }
    pthread_cond_broadcast (&s->cond);
  }
  pthread_mutex_unlock (&s->lock);
  return NULL;
}

/* Under s->lock: hand a batch to the publisher, waiting while it is
 * behind (the queue bounds how much unpublished data piles up). */
static int
enqueue (struct store *s, struct pending_chunk *items, size_t n)
{
  while (s->queued == STORE_QUEUE && !s->failed)
    pthread_cond_wait (&s->cond, &s->lock);
  if (s->failed) {
    for (size_t i = 0; i < n; i++)
      unlinkat (s->repo->dirfd, items[i].tmp, 0);
    free (items);
    set_error (0, "%s", s->error);
    return -1;
  }
  s->queue[s->queued].items = items;
  s->queue[s->queued].n = n;
  s->queued++;
  pthread_cond_broadcast (&s->cond);
  return 0;
}

/* Under s->lock: take the pending list, leaving a fresh one. */
static struct pending_chunk *
take_pending (struct store *s, size_t *n)
{
  struct pending_chunk *batch = s->pending;
  struct pending_chunk *fresh = calloc (PUBLISH_CHUNKS, sizeof *fresh);

  if (fresh == NULL) {
    *n = 0;
    return NULL;
  }
  *n = s->npending;
  s->pending = fresh;
  s->npending = 0;
  s->pending_bytes = 0;
  return batch;
}

/* Under s->lock: is d already waiting to be published? */
static bool
is_pending (const struct store *s, const struct digest *d)
{
  for (size_t i = 0; i < s->npending; i++)
    if (digest_cmp (&s->pending[i].digest, d) == 0)
      return true;
  return false;
}

/* Does the chunk exist?  If so, refresh its mtime so a concurrent gc
 * sees it as in use (see lock.h). */
static int
exists_and_refresh (struct store *s, int lock_fd, const char *rel,
                    unsigned prefix)
{
  int r;

  if (chunk_prefix_lock (lock_fd, prefix, 0) == -1)
    return -1;
  r = utimensat (s->repo->dirfd, rel, NULL, 0);
  if (r == -1 && errno != ENOENT) {
    set_error (errno, "refresh %s", rel);
    chunk_prefix_unlock (lock_fd, prefix);
    return -1;
  }
  chunk_prefix_unlock (lock_fd, prefix);
  return r == 0;
}

/* Write a chunk file around the page cache where the file system allows
 * it: the data is read again only by restore and verify, and the copy
 * into the page cache was an eighth of a backup's CPU time.  O_DIRECT
 * wants whole blocks, so the padded buffer goes out and the file is cut
 * back to its length. */
static int
write_chunk_file (int fd, const unsigned char *enc, size_t len)
{
  size_t padded = (len + CHUNK_ALIGN - 1) & ~(size_t) (CHUNK_ALIGN - 1);
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

/* Remote: ask the server, which refreshes the chunk if it has it; else
 * compress here and send it (the server checks it before storing). */
static int
remote_put (struct store *s, struct chunk_ctx *ctx, const struct digest *d,
            const void *data, size_t len)
{
  const unsigned char *enc;
  size_t enclen;
  int r = s->repo->remote->chunk_refresh (s->repo, d);

  if (r == -1)
    return -1;
  if (r == 1) {
    __atomic_add_fetch (&s->stats.reused_chunks, 1, __ATOMIC_RELAXED);
    return 0;
  }
  if (chunk_encode (ctx, data, len, &enc, &enclen) == -1)
    return -1;
  return s->repo->remote->chunk_put (s->repo, d, enc, enclen);
}

int
store_put (struct store *s, struct chunk_ctx *ctx, int lock_fd,
           const struct digest *d, const void *data, size_t len)
{
  char rel[128];
  const unsigned char *enc;
  size_t enclen;
  int r;

  if (s->repo->remote)
    return remote_put (s, ctx, d, data, len);
  chunk_relpath (d, rel, sizeof rel);
  r = exists_and_refresh (s, lock_fd, rel, d->b[0]);
  if (r == -1)
    return -1;
  if (r == 0) {
    /* Written by this session but not yet published (a disk that
     * repeats itself): do not write it again. */
    SCOPED_LOCK (&s->lock);
    r = is_pending (s, d);
  }
  if (r == 1) {
    __atomic_add_fetch (&s->stats.reused_chunks, 1, __ATOMIC_RELAXED);
    return 0;
  }
  if (chunk_encode (ctx, data, len, &enc, &enclen) == -1)
    return -1;
  return store_put_encoded (s, lock_fd, d, enc, enclen, NULL);
}

int
store_put_encoded (struct store *s, int lock_fd, const struct digest *d,
                   const unsigned char *enc, size_t enclen, bool *stored)
{
  char rel[128], tmprel[64];
  int fd, r;

  if (stored)
    *stored = false;
  if (s->repo->remote)
    return s->repo->remote->chunk_put (s->repo, d, enc, enclen);
  chunk_relpath (d, rel, sizeof rel);
  if (stored) {
    /* A caller that did not check first (the server, for a client that
     * may lie): an existing chunk is refreshed, never rewritten. */
    r = exists_and_refresh (s, lock_fd, rel, d->b[0]);
    if (r == 0) {
      SCOPED_LOCK (&s->lock);
      r = is_pending (s, d);
    }
    if (r == -1)
      return -1;
    if (r == 1) {
      __atomic_add_fetch (&s->stats.reused_chunks, 1, __ATOMIC_RELAXED);
      return 0;
    }
  }
  strcpy (tmprel, "tmp/.chunk-XXXXXX");
  {
    CLEANUP_FREE char *full = repo_path (s->repo, "%s", tmprel);
    if (full == NULL || (fd = mkostemp (full, O_CLOEXEC)) == -1) {
      set_error (errno, "create chunk in %s/tmp", s->repo->path);
      return -1;
    }
    strcpy (tmprel, full + strlen (s->repo->path) + 1);
  }
  if (write_chunk_file (fd, enc, enclen) == -1) {
    set_error (errno, "write chunk to %s", s->repo->path);
    close (fd);
    unlinkat (s->repo->dirfd, tmprel, 0);
    return -1;
  }
  close (fd);

  struct pending_chunk *batch = NULL;
  size_t nbatch = 0;
  pthread_mutex_lock (&s->lock);
  if (is_pending (s, d)) {
    /* Another worker stored the same data meanwhile. */
    pthread_mutex_unlock (&s->lock);
    unlinkat (s->repo->dirfd, tmprel, 0);
    __atomic_add_fetch (&s->stats.reused_chunks, 1, __ATOMIC_RELAXED);
    return 0;
  }
  s->pending[s->npending].digest = *d;
  snprintf (s->pending[s->npending].tmp, sizeof s->pending->tmp, "%s", tmprel);
  snprintf (s->pending[s->npending].final, sizeof s->pending->final, "%s", rel);
  s->npending++;
  s->pending_bytes += enclen;
  s->stats.new_chunks++;
  s->stats.new_bytes += enclen;
  if (stored)
    *stored = true;
  r = s->failed ? (set_error (0, "%s", s->error), -1) : 0;
  if (r == 0
      && (s->npending == PUBLISH_CHUNKS || s->pending_bytes >= PUBLISH_BYTES)) {
    batch = take_pending (s, &nbatch);
    r = batch ? enqueue (s, batch, nbatch)
      : (set_error (ENOMEM, "store"), -1);
  }
  pthread_mutex_unlock (&s->lock);
  return r;
}

int
store_refresh (struct store *s, int lock_fd, const struct digest *d)
{
  char rel[128];
  int r;

  if (s->repo->remote) {
    r = s->repo->remote->chunk_refresh (s->repo, d);
    if (r == 1)
      __atomic_add_fetch (&s->stats.reused_chunks, 1, __ATOMIC_RELAXED);
    return r;
  }
  chunk_relpath (d, rel, sizeof rel);
  r = exists_and_refresh (s, lock_fd, rel, d->b[0]);
  if (r == 0) {
    SCOPED_LOCK (&s->lock);
    r = is_pending (s, d);
  }
  if (r == 1)
    __atomic_add_fetch (&s->stats.reused_chunks, 1, __ATOMIC_RELAXED);
  return r;
}

void
store_refresh_ahead (struct store *s, const struct digest *d)
{
  if (s->repo->remote)
    s->repo->remote->chunk_refresh_ahead (s->repo, d);
}

int
store_finish (struct store *s)
{
  struct pending_chunk *batch;
  size_t n;

  int r;

  if (s->repo->remote)
    return s->repo->remote->finish (s->repo, &s->stats);
  pthread_mutex_lock (&s->lock);
  batch = take_pending (s, &n);
  r = batch ? enqueue (s, batch, n) : (set_error (ENOMEM, "store"), -1);
  while (r == 0 && (s->queued > 0 || s->publishing))
    pthread_cond_wait (&s->cond, &s->lock);
  if (r == 0 && s->failed) {
    set_error (0, "%s", s->error);
    r = -1;
  }
  pthread_mutex_unlock (&s->lock);
  if (r == -1)
    return -1;
  /* The renames themselves must be durable before a manifest refers to
   * the chunks. */
  if (syncfs (s->repo->dirfd) == -1) {
    set_error (errno, "sync repository %s", s->repo->path);
    return -1;
  }
  return 0;
}

void
store_end (struct store *s)
{
  if (s->repo && s->repo->remote) {
    s->repo->remote->session_end (s->repo);
    pthread_mutex_destroy (&s->lock);
    pthread_cond_destroy (&s->cond);
    return;
  }
  if (s->publisher_started) {
    pthread_mutex_lock (&s->lock);
    s->stopping = true;
    pthread_cond_broadcast (&s->cond);
    pthread_mutex_unlock (&s->lock);
    pthread_join (s->publisher, NULL);
    s->publisher_started = false;
  }
  for (size_t i = 0; i < s->npending; i++)
    unlinkat (s->repo->dirfd, s->pending[i].tmp, 0);
  s->npending = 0;
  free (s->pending);
  s->pending = NULL;
  writer_unregister (&s->writer);
  if (s->lock_fd >= 0)
    close (s->lock_fd);
  s->lock_fd = -1;
  pthread_mutex_destroy (&s->lock);
  pthread_cond_destroy (&s->cond);
}
