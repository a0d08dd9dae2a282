/* The stages behind a disk reader (see pipeline.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "repo/chunk.h"
#include "repo/repo.h"
#include "pipeline.h"

/* Bytes of slots: with 4 MiB chunks, 12 chunks between reading,
 * compressing and writing. */
#define SLOTS_BYTES (48u << 20)
#define MIN_SLOTS 4
/* Two writes in flight keep the device busy while one completes. */
#define WRITERS 2

/* Under lock. */
static void
queue_push (struct slot_queue *q, struct slot *s)
{
  s->next = NULL;
  if (q->tail)
    q->tail->next = s;
  else
    q->head = s;
  q->tail = s;
  pthread_cond_signal (&q->ready);
}

/* Under lock. */
static struct slot *
queue_pop (struct slot_queue *q)
{
  struct slot *s = q->head;

  if (s) {
    q->head = s->next;
    if (q->head == NULL)
      q->tail = NULL;
  }
  return s;
}

static void
release_slot (struct pipeline *pl, struct slot *s)
{
  SCOPED_LOCK (&pl->lock);
  pl->bytes_done += s->len;
  /* The free list is a stack: a slot used again soon is still warm in
   * the cache. */
  s->next = pl->free_slots.head;
  pl->free_slots.head = s;
  pthread_cond_signal (&pl->free_slots.ready);
}

void
pipeline_fail (struct pipeline *pl, const char *msg)
{
  SCOPED_LOCK (&pl->lock);
  if (!pl->failed) {
    pl->failed = true;
    snprintf (pl->error, sizeof pl->error, "%s", msg);
  }
  pthread_cond_broadcast (&pl->free_slots.ready);
  pthread_cond_broadcast (&pl->work.ready);
  pthread_cond_broadcast (&pl->writes.ready);
}

bool
pipeline_failed (struct pipeline *pl)
{
  SCOPED_LOCK (&pl->lock);
  return pl->failed;
}

/* The next chunk to work on; NULL when reading is done and every
 * chunk taken, or on failure. */
static struct slot *
next_work (struct pipeline *pl)
{
  SCOPED_LOCK (&pl->lock);
  while (pl->work.head == NULL && !pl->done_reading && !pl->failed)
    pthread_cond_wait (&pl->work.ready, &pl->lock);
  return pl->failed ? NULL : queue_pop (&pl->work);
}

/* Did the previous backup have this chunk at this place?  (An index
 * read fails only on I/O: then the chunk is asked about, as any.) */
static bool
named_before (const struct pipeline_params *p, const struct slot *s)
{
  struct digest d;

  return p->named && s->chunk < p->named->hdr.chunk_count
    && index_reader_get (p->named, s->chunk, &d) == 0
    && digest_cmp (&d, &s->digest) == 0;
}

/* Hash the chunk and look it up; compress a new one in its slot.
 * Returns 1 (to be written), 0 (done: zero or already stored) or -1
 * with the error naming the disk. */
static int
work_on (struct pipeline_thread *t, struct slot *s)
{
  const struct pipeline_params *p = &t->pl->p;
  int r;

  if (s->error) {
    set_error (s->error, "disk %s: read at offset %llu", p->name,
               (unsigned long long) s->chunk * p->repo->chunk_size);
    return -1;
  }
  if (buffer_is_zero (s->buf, s->len))
    return 0; /* the index slot is already zero */
  if (chunk_id (t->ctx, s->buf, s->len, &s->digest) == -1
      || (r = named_before (p, s)
            ? store_refresh_named (p->store, t->lock_fd, &s->digest)
            : store_refresh (p->store, t->lock_fd, &s->digest))
        == -1
      || (r == 1 && index_writer_set (p->index, s->chunk, &s->digest) == -1)
      || (r == 0
          && chunk_encode_in_place (t->ctx, &s->digest, s->mem, s->len,
                                    &s->enclen)
            == -1)) {
    error_prefix ("disk %s", p->name);
    return -1;
  }
  return r == 0;
}

static void *
worker_main (void *opaque)
{
  struct pipeline_thread *t = opaque;
  struct pipeline *pl = t->pl;
  struct slot *s;

  while ((s = next_work (pl)) != NULL) {
    int r = work_on (t, s);
    if (r == -1)
      pipeline_fail (pl, get_error ());
    if (r == 1) {
      SCOPED_LOCK (&pl->lock);
      queue_push (&pl->writes, s);
    }
    else
      release_slot (pl, s);
  }
  SCOPED_LOCK (&pl->lock);
  if (--pl->workers_running == 0)
    pthread_cond_broadcast (&pl->writes.ready);
  return NULL;
}

static void *
writer_main (void *opaque)
{
  struct pipeline_thread *t = opaque;
  struct pipeline *pl = t->pl;
  const struct pipeline_params *p = &pl->p;
  struct slot *s;

  for (;;) {
    {
      /* More writes may come while any worker runs. */
      SCOPED_LOCK (&pl->lock);
      while (pl->writes.head == NULL && pl->workers_running > 0 && !pl->failed)
        pthread_cond_wait (&pl->writes.ready, &pl->lock);
      s = pl->failed ? NULL : queue_pop (&pl->writes);
    }
    if (s == NULL)
      break;
    if (store_put_encoded (p->store, t->lock_fd, &s->digest, s->mem, s->enclen,
                           NULL)
          == -1
        || index_writer_set (p->index, s->chunk, &s->digest) == -1) {
      error_prefix ("disk %s", p->name);
      pipeline_fail (pl, get_error ());
    }
    release_slot (pl, s);
  }
  return NULL;
}

struct slot *
pipeline_try_slot (struct pipeline *pl)
{
  SCOPED_LOCK (&pl->lock);
  if (pl->failed || pl->free_slots.head == NULL)
    return NULL;
  return queue_pop (&pl->free_slots);
}

void
pipeline_wait_slot (struct pipeline *pl)
{
  SCOPED_LOCK (&pl->lock);
  while (pl->free_slots.head == NULL && !pl->failed)
    pthread_cond_wait (&pl->free_slots.ready, &pl->lock);
}

void
pipeline_submit (struct pipeline *pl, struct slot *s)
{
  SCOPED_LOCK (&pl->lock);
  queue_push (&pl->work, s);
}

void
pipeline_skipped (struct pipeline *pl, uint64_t bytes)
{
  SCOPED_LOCK (&pl->lock);
  pl->bytes_done += bytes;
}

uint64_t
pipeline_bytes_done (struct pipeline *pl)
{
  SCOPED_LOCK (&pl->lock);
  return pl->bytes_done;
}

static int
start_thread (struct pipeline *pl, struct pipeline_thread *t, bool worker)
{
  t->pl = pl;
  t->ctx = NULL;
  t->lock_fd = repo_worker_open (pl->p.repo);
  if (t->lock_fd == -1)
    return -1;
  if (worker) {
    t->ctx = chunk_ctx_for (pl->p.repo, pl->p.compression_level);
    if (t->ctx == NULL)
      goto fail;
  }
  if (pthread_create (&t->thread, NULL, worker ? worker_main : writer_main, t)
      != 0) {
    set_error (0, "cannot start a thread");
    goto fail;
  }
  return 0;

fail:
  chunk_ctx_free (t->ctx);
  close (t->lock_fd);
  return -1;
}

static void
join_threads (struct pipeline_thread *t, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    pthread_join (t[i].thread, NULL);
    chunk_ctx_free (t[i].ctx);
    close (t[i].lock_fd);
  }
}

static void
free_slots (struct pipeline *pl)
{
  if (pl->slots)
    for (size_t i = 0; i < pl->nslots; i++)
      free (pl->slots[i].mem);
  free (pl->slots);
  pl->slots = NULL;
  pthread_mutex_destroy (&pl->lock);
  pthread_cond_destroy (&pl->free_slots.ready);
  pthread_cond_destroy (&pl->work.ready);
  pthread_cond_destroy (&pl->writes.ready);
}

static int
alloc_slots (struct pipeline *pl)
{
  uint32_t chunk = pl->p.repo->chunk_size;

  pl->nslots = SLOTS_BYTES / chunk;
  if (pl->nslots < MIN_SLOTS)
    pl->nslots = MIN_SLOTS;
  pl->slots = calloc (pl->nslots, sizeof *pl->slots);
  if (pl->slots == NULL)
    goto oom;
  for (size_t i = 0; i < pl->nslots; i++) {
    struct slot *s = &pl->slots[i];
    if (posix_memalign ((void **) &s->mem, CHUNK_ALIGN,
                        CHUNK_IMAGE_ROOM (chunk))
        != 0) {
      s->mem = NULL;
      goto oom;
    }
    s->buf = s->mem + CHUNK_HEADER_LEN;
    s->pl = pl;
    s->next = pl->free_slots.head;
    pl->free_slots.head = s;
  }
  return 0;

oom:
  set_error (ENOMEM, "disk %s: allocate buffers", pl->p.name);
  return -1;
}

int
pipeline_start (struct pipeline *pl, const struct pipeline_params *p)
{
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
  size_t nworkers = ncpu < 1      ? 1
    : ncpu > PIPELINE_MAX_THREADS ? PIPELINE_MAX_THREADS
                                  : (size_t) ncpu;

  memset (pl, 0, sizeof *pl);
  pl->p = *p;
  pthread_mutex_init (&pl->lock, NULL);
  pthread_cond_init (&pl->free_slots.ready, NULL);
  pthread_cond_init (&pl->work.ready, NULL);
  pthread_cond_init (&pl->writes.ready, NULL);
  if (alloc_slots (pl) == -1) {
    free_slots (pl);
    return -1;
  }
  pl->workers_running = nworkers;
  for (; pl->nworkers < nworkers; pl->nworkers++)
    if (start_thread (pl, &pl->workers[pl->nworkers], true) == -1)
      break;
  for (; pl->nwriters < WRITERS && pl->nworkers == nworkers; pl->nwriters++)
    if (start_thread (pl, &pl->writers[pl->nwriters], false) == -1)
      break;
  if (pl->nworkers < nworkers || pl->nwriters < WRITERS) {
    pipeline_fail (pl, get_error ());
    {
      SCOPED_LOCK (&pl->lock);
      pl->workers_running -= nworkers - pl->nworkers;
    }
    pipeline_finish (pl);
    return -1;
  }
  return 0;
}

int
pipeline_finish (struct pipeline *pl)
{
  {
    SCOPED_LOCK (&pl->lock);
    pl->done_reading = true;
    pthread_cond_broadcast (&pl->work.ready);
  }
  join_threads (pl->workers, pl->nworkers);
  join_threads (pl->writers, pl->nwriters);
  free_slots (pl);
  if (pl->failed) {
    set_error (0, "%s", pl->error);
    return -1;
  }
  return 0;
}
