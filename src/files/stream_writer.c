/* Content-defined stream writer (see stream_writer.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "repo/backup_file.h"
#include "repo/repo.h"
#include "stream_writer.h"

struct sw_job {
  unsigned char *buf;
  size_t len;
  uint64_t index, end; /* chunk number, stream end offset */
  struct sw_job *next;
};

struct sw_worker {
  struct stream_writer *w;
  pthread_t thread;
  struct chunk_ctx *ctx;
  int lock_fd;
  bool started;
};

/* Hash, store (unless all zero) and record one chunk. */
static int
store_chunk (struct stream_writer *w, struct chunk_ctx *ctx, int lock_fd,
             uint64_t index, uint64_t end, const unsigned char *data,
             size_t len)
{
  struct digest d = { { 0 } };

  if (!buffer_is_zero (data, len)
      && (chunk_id (ctx, data, len, &d) == -1
          || store_put (w->store, ctx, lock_fd, &d, data, len) == -1))
    return -1;
  return stream_map_writer_set (&w->map, index, end, &d);
}

static void
fail_locked (struct stream_writer *w, const char *msg)
{
  if (!w->failed) {
    w->failed = true;
    snprintf (w->error, sizeof w->error, "%s", msg);
  }
  pthread_cond_broadcast (&w->cond);
}

static void *
worker_main (void *opaque)
{
  struct sw_worker *k = opaque;
  struct stream_writer *w = k->w;

  pthread_mutex_lock (&w->lock);
  for (;;) {
    struct sw_job *j;
    int r;

    while (w->work_head == NULL && !w->stopping)
      pthread_cond_wait (&w->cond, &w->lock);
    if (w->work_head == NULL)
      break;
    j = w->work_head;
    w->work_head = j->next;
    if (w->work_head == NULL)
      w->work_tail = NULL;
    pthread_mutex_unlock (&w->lock);
    r = w->failed
      ? 0
      : store_chunk (w, k->ctx, k->lock_fd, j->index, j->end, j->buf, j->len);
    pthread_mutex_lock (&w->lock);
    if (r == -1)
      fail_locked (w, get_error ());
    j->next = w->free_jobs;
    w->free_jobs = j;
    pthread_cond_broadcast (&w->cond);
  }
  pthread_mutex_unlock (&w->lock);
  return NULL;
}

int
stream_writer_open (struct stream_writer *w, struct store *store,
                    const struct cdc_params *cdc, size_t nworkers, int level)
{
  memset (w, 0, sizeof *w);
  w->store = store;
  w->cdc = *cdc;
  w->level = level;
  w->lock_fd = -1;
  w->map.fd = -1;
  pthread_mutex_init (&w->lock, NULL);
  pthread_cond_init (&w->cond, NULL);
  w->cap = 2 * cdc->max;
  w->buf = malloc (w->cap);
  if (w->buf == NULL)
    goto oom;
  if (stream_map_writer_open (&w->map, store->repo) == -1)
    return -1;
  if (nworkers == 0) {
    w->ctx = chunk_ctx_for (store->repo, level);
    if (w->ctx == NULL)
      goto oom;
    w->lock_fd = repo_worker_open (store->repo);
    return w->lock_fd == -1 ? -1 : 0;
  }
  w->njobs = 2 * nworkers;
  w->jobs = calloc (w->njobs, sizeof *w->jobs);
  w->workers = calloc (nworkers, sizeof *w->workers);
  if (w->jobs == NULL || w->workers == NULL)
    goto oom;
  w->nworkers = nworkers;
  for (size_t i = 0; i < nworkers; i++)
    w->workers[i].lock_fd = -1;
  for (size_t i = 0; i < w->njobs; i++) {
    w->jobs[i].buf = malloc (cdc->max);
    if (w->jobs[i].buf == NULL)
      goto oom;
    w->jobs[i].next = w->free_jobs;
    w->free_jobs = &w->jobs[i];
  }
  for (size_t i = 0; i < nworkers; i++) {
    struct sw_worker *k = &w->workers[i];
    k->w = w;
    k->lock_fd = repo_worker_open (store->repo);
    k->ctx = chunk_ctx_for (store->repo, level);
    if (k->lock_fd == -1)
      return -1;
    if (k->ctx == NULL)
      goto oom;
    if (pthread_create (&k->thread, NULL, worker_main, k) != 0) {
      set_error (0, "cannot start a chunk worker thread");
      return -1;
    }
    k->started = true;
  }
  return 0;
oom:
  set_error (ENOMEM, "stream writer");
  return -1;
}

/* Hand one cut chunk on. */
static int
emit (struct stream_writer *w, const unsigned char *data, size_t len)
{
  uint64_t index = w->chunks++, end = w->base + len;
  struct sw_job *j;

  if (w->nworkers == 0)
    return store_chunk (w, w->ctx, w->lock_fd, index, end, data, len);
  pthread_mutex_lock (&w->lock);
  while (w->free_jobs == NULL && !w->failed)
    pthread_cond_wait (&w->cond, &w->lock);
  if (w->failed) {
    set_error (0, "%s", w->error);
    pthread_mutex_unlock (&w->lock);
    return -1;
  }
  j = w->free_jobs;
  w->free_jobs = j->next;
  pthread_mutex_unlock (&w->lock);
  memcpy (j->buf, data, len);
  j->len = len;
  j->index = index;
  j->end = end;
  j->next = NULL;
  pthread_mutex_lock (&w->lock);
  if (w->work_tail)
    w->work_tail->next = j;
  else
    w->work_head = j;
  w->work_tail = j;
  pthread_cond_broadcast (&w->cond);
  pthread_mutex_unlock (&w->lock);
  return 0;
}

/* Cut every chunk the buffer holds (and the rest too at eof). */
static int
cut (struct stream_writer *w, bool eof)
{
  while (w->end > w->start) {
    size_t n = cdc_cut (&w->cdc, w->buf + w->start, w->end - w->start, eof);
    if (n == 0)
      break;
    if (emit (w, w->buf + w->start, n) == -1)
      return -1;
    w->start += n;
    w->base += n;
  }
  if (w->start > 0) {
    memmove (w->buf, w->buf + w->start, w->end - w->start);
    w->end -= w->start;
    w->start = 0;
  }
  return 0;
}

int
stream_writer_space (struct stream_writer *w, unsigned char **p, size_t *avail)
{
  /* The buffer is two maximum chunks: once full, at least one chunk is
   * cut, and what stays is less than a maximum chunk. */
  if (w->end == w->cap && cut (w, false) == -1)
    return -1;
  *p = w->buf + w->end;
  *avail = w->cap - w->end;
  return 0;
}

void
stream_writer_advance (struct stream_writer *w, size_t n)
{
  w->end += n;
}

int
stream_writer_write (struct stream_writer *w, const void *data, size_t len)
{
  const unsigned char *s = data;

  while (len > 0) {
    unsigned char *p;
    size_t avail;

    if (stream_writer_space (w, &p, &avail) == -1)
      return -1;
    if (avail > len)
      avail = len;
    memcpy (p, s, avail);
    stream_writer_advance (w, avail);
    s += avail;
    len -= avail;
  }
  return 0;
}

int
stream_writer_flush (struct stream_writer *w)
{
  return cut (w, true);
}

int
stream_writer_splice (struct stream_writer *w, const struct digest *d,
                      size_t len)
{
  if (w->end != w->start || len == 0 || len > w->store->repo->chunk_size) {
    set_error (EINVAL, "stream splice");
    return -1;
  }
  if (stream_map_writer_set (&w->map, w->chunks, w->base + len, d) == -1)
    return -1;
  w->chunks++;
  w->base += len;
  return 0;
}

uint64_t
stream_writer_offset (const struct stream_writer *w)
{
  return w->base + (w->end - w->start);
}

/* Wait until every queued chunk is stored; stop the workers. */
static int
drain (struct stream_writer *w)
{
  int r;

  pthread_mutex_lock (&w->lock);
  w->stopping = true;
  pthread_cond_broadcast (&w->cond);
  pthread_mutex_unlock (&w->lock);
  for (size_t i = 0; i < w->nworkers; i++)
    if (w->workers[i].started) {
      pthread_join (w->workers[i].thread, NULL);
      w->workers[i].started = false;
    }
  pthread_mutex_lock (&w->lock);
  r = w->failed ? (set_error (0, "%s", w->error), -1) : 0;
  pthread_mutex_unlock (&w->lock);
  return r;
}

int
stream_writer_finish (struct stream_writer *w, struct digest *map,
                      uint64_t *chunks, uint64_t *size)
{
  uint64_t map_size;

  if (cut (w, true) == -1 || drain (w) == -1)
    return -1;
  *chunks = w->chunks;
  *size = w->base;
  /* The chunks the map names are published (store_finish, inside
   * backup_file) before the index that names the map. */
  return backup_stream_map (w->store, w->level, w->map.tmppath, &map_size,
                            map);
}

void
stream_writer_close (struct stream_writer *w)
{
  if (w->cap == 0)
    return; /* never opened */
  drain (w);
  for (size_t i = 0; i < w->nworkers; i++) {
    chunk_ctx_free (w->workers[i].ctx);
    if (w->workers[i].lock_fd >= 0)
      close (w->workers[i].lock_fd);
  }
  for (size_t i = 0; i < w->njobs; i++)
    free (w->jobs[i].buf);
  free (w->jobs);
  free (w->workers);
  chunk_ctx_free (w->ctx);
  if (w->lock_fd >= 0)
    close (w->lock_fd);
  free (w->buf);
  stream_map_writer_close (&w->map);
  pthread_mutex_destroy (&w->lock);
  pthread_cond_destroy (&w->cond);
  memset (w, 0, sizeof *w);
  w->lock_fd = -1;
  w->map.fd = -1;
}
