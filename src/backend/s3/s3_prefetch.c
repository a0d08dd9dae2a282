/* Chunks fetched ahead of their chunk_get (see s3_prefetch.h).  A few
 * dozen slots at most: linear scans cost nothing next to a GET. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "s3_pool.h"
#include "s3_prefetch.h"

/* GETs in flight at once: what keeps radosgw and its OSD busy (a disk
 * restore's own threads found 8 the best, bench/README.md). */
#define PREFETCH_THREADS 8

enum slot_state {
  SLOT_FREE,
  SLOT_QUEUED,   /* hinted, not yet asked for */
  SLOT_FETCHING, /* a fetcher GETs it */
  SLOT_READY,    /* fetched, waiting for its chunk_get */
  SLOT_FAILED,   /* fetch failed: its chunk_get fails the same way */
  SLOT_TAKING    /* a chunk_get copies it out */
};

struct slot {
  enum slot_state state;
  uint64_t seq; /* hint order: fetched first to last */
  struct digest d;
  char key[S3_KEY_MAX];
  unsigned char *buf; /* cap bytes, allocated at its first fetch */
  size_t len;
  int err; /* SLOT_FAILED: the GET's errno and message */
  char error[512];
};

struct s3_prefetch {
  struct s3_client *c;
  size_t cap;
  pthread_mutex_t lock;
  pthread_cond_t work;    /* a slot was queued, or stop */
  pthread_cond_t changed; /* a slot left FETCHING or TAKING */
  pthread_t threads[PREFETCH_THREADS];
  unsigned nthreads; /* started: at the first hint */
  bool stop;
  /* A fetch failed other than on a missing or oversized object (the
   * server or the link is in trouble): no new fetch starts until a
   * chunk_get's own GET succeeds, so that a reader that fails on the
   * error does not wait at its close for fetches nobody will take. */
  bool paused;
  uint64_t seq;
  size_t nslots; /* S3_PREFETCH_BYTES / cap, within bounds */
  struct slot slots[S3_PREFETCH_SLOTS];
};

/* The queued slot hinted first, or NULL. */
static struct slot *
oldest_queued (struct s3_prefetch *pf)
{
  struct slot *s = NULL;

  for (size_t i = 0; i < pf->nslots; i++)
    if (pf->slots[i].state == SLOT_QUEUED
        && (s == NULL || pf->slots[i].seq < s->seq))
      s = &pf->slots[i];
  return s;
}

/* GET the slot's chunk; called without the lock (the slot is this
 * thread's while FETCHING). */
static void
fetch (struct s3_prefetch *pf, struct slot *s)
{
  if (s->buf == NULL && (s->buf = malloc (pf->cap)) == NULL) {
    s->err = ENOMEM;
    snprintf (s->error, sizeof s->error, "chunk read ahead: out of memory");
    return;
  }
  s->err = 0;
  if (s3_get_into (pf->c, s->key, s->buf, pf->cap, &s->len) == -1) {
    s->err = get_errno () ? get_errno () : EIO;
    snprintf (s->error, sizeof s->error, "%s", get_error ());
  }
}

/* Stop starting fetches: the queued ones are dropped (their chunk_get
 * GETs them itself).  Under pf->lock. */
static void
pause_fetching (struct s3_prefetch *pf)
{
  pf->paused = true;
  for (size_t i = 0; i < pf->nslots; i++)
    if (pf->slots[i].state == SLOT_QUEUED)
      pf->slots[i].state = SLOT_FREE;
}

static void *
fetcher_main (void *opaque)
{
  struct s3_prefetch *pf = opaque;

  pthread_mutex_lock (&pf->lock);
  for (;;) {
    struct slot *s = NULL;

    while (!pf->stop && (s = oldest_queued (pf)) == NULL)
      pthread_cond_wait (&pf->work, &pf->lock);
    if (pf->stop)
      break;
    s->state = SLOT_FETCHING;
    pthread_mutex_unlock (&pf->lock);
    fetch (pf, s);
    pthread_mutex_lock (&pf->lock);
    s->state = s->err ? SLOT_FAILED : SLOT_READY;
    if (s->err && s->err != ENOENT && s->err != EFBIG)
      pause_fetching (pf);
    pthread_cond_broadcast (&pf->changed);
  }
  pthread_mutex_unlock (&pf->lock);
  return NULL;
}

struct s3_prefetch *
s3_prefetch_new (struct s3_client *c, size_t cap)
{
  struct s3_prefetch *pf = calloc (1, sizeof *pf);

  if (pf == NULL) {
    set_error (ENOMEM, "chunk prefetcher");
    return NULL;
  }
  pf->c = c;
  pf->cap = cap;
  /* 24 of 4 MiB chunk files, 6 of the largest (16 MiB). */
  pf->nslots = S3_PREFETCH_BYTES / cap;
  if (pf->nslots > S3_PREFETCH_SLOTS)
    pf->nslots = S3_PREFETCH_SLOTS;
  if (pf->nslots < 1)
    pf->nslots = 1;
  pthread_mutex_init (&pf->lock, NULL);
  pthread_cond_init (&pf->work, NULL);
  pthread_cond_init (&pf->changed, NULL);
  return pf;
}

/* The slot holding (or fetching) chunk d, or NULL. */
static struct slot *
find (struct s3_prefetch *pf, const struct digest *d)
{
  for (size_t i = 0; i < pf->nslots; i++)
    if (pf->slots[i].state != SLOT_FREE
        && digest_cmp (&pf->slots[i].d, d) == 0)
      return &pf->slots[i];
  return NULL;
}

/* A slot for a new hint: a free one, else the oldest fetched one that
 * nslots later hints have passed by (its reader went on without it);
 * NULL if there is none: every chunk held may still be asked for. */
static struct slot *
slot_for_hint (struct s3_prefetch *pf)
{
  struct slot *victim = NULL;

  for (size_t i = 0; i < pf->nslots; i++) {
    struct slot *s = &pf->slots[i];
    if (s->state == SLOT_FREE)
      return s;
    if ((s->state == SLOT_READY || s->state == SLOT_FAILED)
        && s->seq + pf->nslots <= pf->seq
        && (victim == NULL || s->seq < victim->seq))
      victim = s;
  }
  return victim;
}

static void
start_threads (struct s3_prefetch *pf)
{
  while (pf->nthreads < PREFETCH_THREADS
         && pthread_create (&pf->threads[pf->nthreads], NULL, fetcher_main, pf)
           == 0)
    pf->nthreads++;
}

void
s3_prefetch_hint (struct s3_prefetch *pf, const struct digest *d,
                  const char *key)
{
  struct slot *s;
  SCOPED_LOCK (&pf->lock);

  if (pf->stop || pf->paused || strlen (key) >= sizeof s->key || find (pf, d))
    return; /* stopping, paused, not a chunk's key, or on its way */
  if (pf->nthreads == 0)
    start_threads (pf);
  pf->seq++;
  if (pf->nthreads == 0 || (s = slot_for_hint (pf)) == NULL)
    return;
  s->state = SLOT_QUEUED;
  s->seq = pf->seq;
  s->d = *d;
  strcpy (s->key, key);
  pthread_cond_signal (&pf->work);
}

int
s3_prefetch_take (struct s3_prefetch *pf, const struct digest *d,
                  unsigned char *buf, size_t cap, size_t *len)
{
  struct slot *s;
  int r = 0;

  pthread_mutex_lock (&pf->lock);
  /* Looked for again after each wait: another reader of the same chunk
   * (data stored twice on the disk) may have taken it meanwhile. */
  while ((s = find (pf, d))
         && (s->state == SLOT_FETCHING || s->state == SLOT_TAKING))
    pthread_cond_wait (&pf->changed, &pf->lock);
  if (s == NULL) {
    pthread_mutex_unlock (&pf->lock);
    return 0;
  }
  if (s->state == SLOT_FAILED && s->err != EFBIG) {
    set_error (0, "%s", s->error);
    set_error_errno (s->err);
    r = -1;
  }
  /* Queued and not yet started (the caller's own GET is as quick), or
   * too large for our buffer (it may fit the caller's): it asks again.
   */
  if (s->state != SLOT_READY || s->len > cap) {
    s->state = SLOT_FREE;
    pthread_mutex_unlock (&pf->lock);
    return r;
  }
  /* Copied out without the lock: hints and fetches go on meanwhile. */
  s->state = SLOT_TAKING;
  pthread_mutex_unlock (&pf->lock);
  memcpy (buf, s->buf, s->len);
  *len = s->len;
  pthread_mutex_lock (&pf->lock);
  s->state = SLOT_FREE;
  pthread_cond_broadcast (&pf->changed);
  pthread_mutex_unlock (&pf->lock);
  return 1;
}

void
s3_prefetch_resume (struct s3_prefetch *pf)
{
  SCOPED_LOCK (&pf->lock);

  pf->paused = false;
}

void
s3_prefetch_free (struct s3_prefetch *pf)
{
  if (pf == NULL)
    return;
  pthread_mutex_lock (&pf->lock);
  pf->stop = true;
  pthread_cond_broadcast (&pf->work);
  pthread_mutex_unlock (&pf->lock);
  for (unsigned i = 0; i < pf->nthreads; i++)
    pthread_join (pf->threads[i], NULL);
  for (size_t i = 0; i < S3_PREFETCH_SLOTS; i++)
    free (pf->slots[i].buf);
  pthread_cond_destroy (&pf->changed);
  pthread_cond_destroy (&pf->work);
  pthread_mutex_destroy (&pf->lock);
  free (pf);
}
