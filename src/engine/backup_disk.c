/* The backup pipeline (see backup_disk.h).
 *
 * Threads: the caller's thread reads, issuing asynchronous NBD reads
 * into a bounded pool of chunk slots; worker threads (one per core)
 * take filled slots, hash and store them, and give the slots back.  The
 * slot pool is what bounds memory: SLOTS_BYTES whatever the disk size. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "nbd/extents.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "repo/lock.h"
#include "backup_disk.h"

#define SLOTS_BYTES (48u << 20)
#define MIN_SLOTS 4
#define MAX_INFLIGHT 16

struct slot {
  unsigned char *buf;
  uint64_t chunk;               /* chunk number */
  size_t len;
  int parts_pending;            /* NBD reads not yet completed */
  int error;                    /* errno of a failed read */
  struct slot *next;
  struct pipeline *pl;
};

struct pipeline {
  const struct backup_disk_params *p;
  struct index_writer index;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct slot *slots;
  size_t nslots;
  struct slot *free_list;
  struct slot *work_head, *work_tail;
  bool done_reading;
  bool failed;
  char error[1024];             /* first error, reported by the caller */
  uint64_t bytes_done;          /* progress (chunks hashed or skipped) */
};

static void
pipeline_fail (struct pipeline *pl, const char *msg)
{
  SCOPED_LOCK (&pl->lock);
  if (!pl->failed) {
    pl->failed = true;
    snprintf (pl->error, sizeof pl->error, "%s", msg);
  }
  pthread_cond_broadcast (&pl->cond);
}

static void
push_work (struct pipeline *pl, struct slot *s)
{
  SCOPED_LOCK (&pl->lock);
  s->next = NULL;
  if (pl->work_tail)
    pl->work_tail->next = s;
  else
    pl->work_head = s;
  pl->work_tail = s;
  pthread_cond_broadcast (&pl->cond);
}

static void
release_slot (struct pipeline *pl, struct slot *s, uint64_t bytes)
{
  SCOPED_LOCK (&pl->lock);
  s->next = pl->free_list;
  pl->free_list = s;
  pl->bytes_done += bytes;
  pthread_cond_broadcast (&pl->cond);
}

static int
read_done (void *opaque, int *error)
{
  struct slot *s = opaque;

  if (*error && !s->error)
    s->error = *error;
  if (--s->parts_pending == 0)
    push_work (s->pl, s);
  return 1;                     /* auto-retire the command */
}

struct worker {
  struct pipeline *pl;
  pthread_t thread;
  struct chunk_ctx *ctx;
  int lock_fd;
};

static int
process_slot (struct worker *w, struct slot *s)
{
  const struct backup_disk_params *p = w->pl->p;
  struct digest d;

  if (s->error) {
    set_error (s->error, "disk %s: read at offset %llu", p->name,
               (unsigned long long) s->chunk * p->repo->chunk_size);
    return -1;
  }
  if (buffer_is_zero (s->buf, s->len))
    return 0;                   /* the index slot is already zero */
  if (digest_compute (s->buf, s->len, &d) == -1
      || store_put (p->store, w->ctx, w->lock_fd, &d, s->buf, s->len) == -1
      || index_writer_set (&w->pl->index, s->chunk, &d) == -1) {
    error_prefix ("disk %s", p->name);
    return -1;
  }
  return 0;
}

static void *
worker_main (void *opaque)
{
  struct worker *w = opaque;
  struct pipeline *pl = w->pl;

  for (;;) {
    struct slot *s;

    pthread_mutex_lock (&pl->lock);
    while (pl->work_head == NULL && !pl->done_reading && !pl->failed)
      pthread_cond_wait (&pl->cond, &pl->lock);
    s = pl->work_head;
    if (s == NULL || pl->failed) {
      pthread_mutex_unlock (&pl->lock);
      break;
    }
    pl->work_head = s->next;
    if (pl->work_head == NULL)
      pl->work_tail = NULL;
    pthread_mutex_unlock (&pl->lock);

    if (process_slot (w, s) == -1)
      pipeline_fail (pl, get_error ());
    release_slot (pl, s, s->len);
  }
  return NULL;
}

/* Wait for a free slot, driving in-flight NBD reads meanwhile. */
static struct slot *
get_slot (struct pipeline *pl)
{
  struct nbd_handle *nbd = pl->p->nbd;

  for (;;) {
    pthread_mutex_lock (&pl->lock);
    if (pl->failed) {
      pthread_mutex_unlock (&pl->lock);
      return NULL;
    }
    if (pl->free_list) {
      struct slot *s = pl->free_list;
      pl->free_list = s->next;
      pthread_mutex_unlock (&pl->lock);
      return s;
    }
    if (nbd_aio_in_flight (nbd) > 0) {
      pthread_mutex_unlock (&pl->lock);
      if (nbd_poll (nbd, -1) == -1) {
        set_error (0, "disk %s: NBD: %s", pl->p->name, nbd_get_error ());
        pipeline_fail (pl, get_error ());
        return NULL;
      }
      continue;
    }
    pthread_cond_wait (&pl->cond, &pl->lock);
    pthread_mutex_unlock (&pl->lock);
  }
}

/* Incremental: does chunk i keep its digest from the previous backup?
 * Yes when no byte of it is dirty and its chunk file is still there (a
 * chunk that verify quarantined is read again, which repairs it).
 * Returns 1 (done, not read), 0 (read it) or -1. */
static int
reuse_chunk (struct pipeline *pl, struct extent_cursor *dirty, int lock_fd,
             extent_vector *scratch, uint64_t i, uint64_t off, size_t len)
{
  const struct backup_disk_params *p = pl->p;
  struct digest d;
  bool changed;
  int r;

  if (extent_cursor_any_dirty (dirty, off, len, scratch, &changed) == -1) {
    error_prefix ("disk %s: dirty bitmap", p->name);
    return -1;
  }
  if (changed)
    return 0;
  if (index_reader_get (p->prev, i, &d) == -1) {
    error_prefix ("disk %s: previous index", p->name);
    return -1;
  }
  if (!digest_is_zero (&d)) {
    r = store_refresh (p->store, lock_fd, &d);
    if (r != 1)
      return r;
    if (index_writer_set (&pl->index, i, &d) == -1)
      return -1;
  }
  return 1;
}

/* Issue the reads for one chunk; holes are zero-filled locally. */
static int
start_chunk (struct pipeline *pl, struct slot *s, const extent_vector *ext,
             uint64_t offset, uint64_t max_request)
{
  struct nbd_handle *nbd = pl->p->nbd;

  s->parts_pending = 1;         /* held until every read is issued */
  s->error = 0;
  for (size_t i = 0; i < ext->len; i++) {
    const struct extent *e = &ext->ptr[i];
    unsigned char *dst = s->buf + (e->offset - offset);
    if (e->zero) {
      memset (dst, 0, e->length);
      continue;
    }
    for (uint64_t done = 0; done < e->length;) {
      uint64_t n = e->length - done < max_request ? e->length - done
        : max_request;
      s->parts_pending++;
      if (nbd_aio_pread (nbd, dst + done, n, e->offset + done,
                         (nbd_completion_callback) { .callback = read_done,
                                                     .user_data = s },
                         0) == -1) {
        s->parts_pending--;
        set_error (0, "disk %s: read at offset %llu: %s", pl->p->name,
                   (unsigned long long) (e->offset + done), nbd_get_error ());
        return -1;
      }
      done += n;
    }
  }
  if (--s->parts_pending == 0)
    push_work (pl, s);
  return 0;
}

static int
read_disk (struct pipeline *pl, uint64_t size, struct backup_disk_result *res)
{
  const struct backup_disk_params *p = pl->p;
  uint32_t chunk = p->repo->chunk_size;
  uint64_t nchunks = pl->index.hdr.chunk_count;
  struct extent_cursor cur, dirty;
  extent_vector ext = empty_vector;
  int lock_fd = -1;
  int64_t max_req = nbd_get_block_size (p->nbd, LIBNBD_SIZE_MAXIMUM);
  const char *ctx = nbd_can_meta_context (p->nbd, "base:allocation") == 1
    ? "base:allocation" : NULL;
  int r = -1;

  if (max_req <= 0 || max_req > (32 << 20))
    max_req = 32 << 20;
  extent_cursor_init (&cur, p->nbd, size, ctx);
  extent_cursor_init (&dirty, p->nbd, size, p->dirty_context);
  if (p->prev && (lock_fd = chunk_lock_open (p->repo)) == -1)
    goto out;
  for (uint64_t i = 0; i < nchunks; i++) {
    uint64_t off = i * chunk;
    size_t len = size - off < chunk ? size - off : chunk;
    bool all_zero = true;
    struct slot *s;

    if (p->prev) {
      int kept = reuse_chunk (pl, &dirty, lock_fd, &ext, i, off, len);
      if (kept == -1)
        goto out;
      if (kept == 1) {
        SCOPED_LOCK (&pl->lock);
        pl->bytes_done += len;
        res->bytes_unchanged += len;
        continue;
      }
    }
    if (extent_cursor_get (&cur, off, len, &ext) == -1) {
      error_prefix ("disk %s", p->name);
      goto out;
    }
    for (size_t k = 0; k < ext.len; k++)
      all_zero &= ext.ptr[k].zero;
    if (all_zero) {
      /* A hole costs nothing: no read, no hash, a zero index slot. */
      SCOPED_LOCK (&pl->lock);
      pl->bytes_done += len;
      continue;
    }
    s = get_slot (pl);
    if (s == NULL)
      goto out;
    s->chunk = i;
    s->len = len;
    for (size_t k = 0; k < ext.len; k++)
      if (!ext.ptr[k].zero)
        res->bytes_read += ext.ptr[k].length;
    if (start_chunk (pl, s, &ext, off, max_req) == -1) {
      pipeline_fail (pl, get_error ());
      goto out;
    }
    while (nbd_aio_in_flight (p->nbd) >= MAX_INFLIGHT)
      if (nbd_poll (p->nbd, -1) == -1) {
        set_error (0, "disk %s: NBD: %s", p->name, nbd_get_error ());
        pipeline_fail (pl, get_error ());
        goto out;
      }
    if (p->progress)
      p->progress (p->progress_opaque, pl->bytes_done, size);
  }
  r = 0;
 out:
  /* Never leave reads writing into slots we are about to free. */
  while (nbd_aio_in_flight (p->nbd) > 0)
    if (nbd_poll (p->nbd, -1) == -1)
      break;
  extent_vector_reset (&ext);
  extent_cursor_free (&cur);
  extent_cursor_free (&dirty);
  if (lock_fd >= 0)
    close (lock_fd);
  return r;
}

int
backup_disk (const struct backup_disk_params *p, struct backup_disk_result *res)
{
  struct pipeline pl = { .p = p };
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
  size_t nworkers = ncpu < 1 ? 1 : ncpu > 8 ? 8 : ncpu;
  struct worker workers[8];
  size_t started = 0;
  int64_t size = nbd_get_size (p->nbd);
  uint64_t stored_before = p->store->stats.new_bytes;
  int r = -1;

  memset (res, 0, sizeof *res);
  if (size < 0) {
    set_error (0, "disk %s: %s", p->name, nbd_get_error ());
    return -1;
  }
  if (p->size && (uint64_t) size > p->size)
    size = p->size;
  res->size = size;
  if (p->prev && (p->dirty_context == NULL
                  || p->prev->hdr.disk_size != (uint64_t) size
                  || p->prev->hdr.chunk_size != p->repo->chunk_size)) {
    set_error (0, "disk %s: previous index does not match the disk", p->name);
    return -1;
  }
  if (index_writer_open (&pl.index, p->repo, size) == -1)
    return -1;
  pthread_mutex_init (&pl.lock, NULL);
  pthread_cond_init (&pl.cond, NULL);
  pl.nslots = SLOTS_BYTES / p->repo->chunk_size;
  if (pl.nslots < MIN_SLOTS)
    pl.nslots = MIN_SLOTS;
  pl.slots = calloc (pl.nslots, sizeof *pl.slots);
  if (pl.slots == NULL)
    goto oom;
  for (size_t i = 0; i < pl.nslots; i++) {
    pl.slots[i].buf = malloc (p->repo->chunk_size);
    if (pl.slots[i].buf == NULL)
      goto oom;
    pl.slots[i].pl = &pl;
    pl.slots[i].next = pl.free_list;
    pl.free_list = &pl.slots[i];
  }
  for (; started < nworkers; started++) {
    struct worker *w = &workers[started];
    w->pl = &pl;
    w->lock_fd = chunk_lock_open (p->repo);
    w->ctx = w->lock_fd == -1 ? NULL
      : chunk_ctx_new (p->repo->chunk_size, p->compression_level);
    if (w->ctx == NULL || pthread_create (&w->thread, NULL, worker_main, w)) {
      chunk_ctx_free (w->ctx);
      if (w->lock_fd >= 0)
        close (w->lock_fd);
      pipeline_fail (&pl, get_error ());
      break;
    }
  }

  if (started == nworkers && read_disk (&pl, size, res) == -1)
    pipeline_fail (&pl, get_error ());
  pthread_mutex_lock (&pl.lock);
  pl.done_reading = true;
  pthread_cond_broadcast (&pl.cond);
  pthread_mutex_unlock (&pl.lock);
  for (size_t i = 0; i < started; i++) {
    pthread_join (workers[i].thread, NULL);
    chunk_ctx_free (workers[i].ctx);
    if (workers[i].lock_fd >= 0)
      close (workers[i].lock_fd);
  }

  if (pl.failed) {
    set_error (0, "%s", pl.error);
    index_writer_abort (&pl.index);
    goto out;
  }
  if (p->progress)
    p->progress (p->progress_opaque, size, size);
  /* The chunks must be durable before the index that names them. */
  if (store_finish (p->store) == -1) {
    index_writer_abort (&pl.index);
    goto out;
  }
  if (index_writer_commit (&pl.index, &res->index) == -1)
    goto out;
  res->stored_new = p->store->stats.new_bytes - stored_before;
  r = 0;
  goto out;

 oom:
  set_error (ENOMEM, "disk %s: allocate buffers", p->name);
  index_writer_abort (&pl.index);
 out:
  if (pl.slots)
    for (size_t i = 0; i < pl.nslots; i++)
      free (pl.slots[i].buf);
  free (pl.slots);
  pthread_mutex_destroy (&pl.lock);
  pthread_cond_destroy (&pl.cond);
  return r;
}
