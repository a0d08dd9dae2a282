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

int
store_begin (struct store *s, struct repo *repo)
{
  memset (s, 0, sizeof *s);
  s->repo = repo;
  s->writer.fd = -1;
  pthread_mutex_init (&s->lock, NULL);
  s->lock_fd = chunk_lock_open (repo);
  if (s->lock_fd == -1)
    return -1;
  s->pending = calloc (PUBLISH_CHUNKS, sizeof *s->pending);
  if (s->pending == NULL) {
    set_error (errno, "calloc");
    return -1;
  }
  return writer_register (repo, &s->writer);
}

/* Sync and rename a batch taken off the pending list.  Runs without
 * s->lock so that the other workers keep hashing and compressing during
 * the sync; lock_fd must be the caller's own. */
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
    rr = renameat (s->repo->dirfd, batch[i].tmp, s->repo->dirfd,
                   batch[i].final);
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

int
store_put (struct store *s, struct chunk_ctx *ctx, int lock_fd,
           const struct digest *d, const void *data, size_t len)
{
  char rel[128], tmprel[64];
  const unsigned char *enc;
  size_t enclen;
  int fd, r;

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
  strcpy (tmprel, "tmp/.chunk-XXXXXX");
  {
    CLEANUP_FREE char *full = repo_path (s->repo, "%s", tmprel);
    if (full == NULL || (fd = mkostemp (full, O_CLOEXEC)) == -1) {
      set_error (errno, "create chunk in %s/tmp", s->repo->path);
      return -1;
    }
    strcpy (tmprel, full + strlen (s->repo->path) + 1);
  }
  if (write_full (fd, enc, enclen, 0) == -1) {
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
  if (s->npending == PUBLISH_CHUNKS || s->pending_bytes >= PUBLISH_BYTES) {
    batch = take_pending (s, &nbatch);
    if (batch == NULL) {
      pthread_mutex_unlock (&s->lock);
      set_error (ENOMEM, "store");
      return -1;
    }
  }
  pthread_mutex_unlock (&s->lock);
  return batch ? publish (s, batch, nbatch, lock_fd) : 0;
}

int
store_finish (struct store *s)
{
  struct pending_chunk *batch;
  size_t n;

  pthread_mutex_lock (&s->lock);
  batch = take_pending (s, &n);
  pthread_mutex_unlock (&s->lock);
  if (batch == NULL) {
    set_error (ENOMEM, "store");
    return -1;
  }
  if (publish (s, batch, n, s->lock_fd) == -1)
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
}
