/* Chunks fetched ahead of their chunk_get (see s3_prefetch.h).  A few
 * dozen slots at most: linear scans cost nothing next to a GET. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
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
  SLOT_FETCHING, /* a thread GETs it */
  SLOT_READY,    /* fetched, waiting for its chunk_get */
  SLOT_FAILED    /* fetch failed: chunk_get asks again */
};

struct slot {
  enum slot_state state;
  uint64_t seq; /* hint order: fetched first to last, evicted oldest */
  struct digest d;
  char key[S3_KEY_MAX];
  unsigned char *buf; /* cap bytes, allocated at its first fetch */
  size_t len;
};

struct s3_prefetch {
  struct s3_client *c;
  size_t cap;
  pthread_mutex_t lock;
  pthread_cond_t work;    /* a slot was queued, or stop */
  pthread_cond_t fetched; /* a slot is READY or FAILED */
  pthread_t threads[PREFETCH_THREADS];
  unsigned nthreads; /* started: at the first hint */
  bool stop;
  uint64_t seq;
  struct slot slots[S3_PREFETCH_SLOTS];
};

/* The queued slot hinted first, or NULL. */
static struct slot *
oldest_queued (struct s3_prefetch *pf)
{
  struct slot *s = NULL;

  for (size_t i = 0; i < S3_PREFETCH_SLOTS; i++)
    if (pf->slots[i].state == SLOT_QUEUED
        && (s == NULL || pf->slots[i].seq < s->seq))
      s = &pf->slots[i];
  return s;
}

static void *
fetcher_main (void *opaque)
{
  struct s3_prefetch *pf = opaque;
  SCOPED_LOCK (&pf->lock);

  for (;;) {
    struct slot *s;
    int r = -1;

    while (!pf->stop && (s = oldest_queued (pf)) == NULL)
      pthread_cond_wait (&pf->work, &pf->lock);
    if (pf->stop)
      return NULL;
    s->state = SLOT_FETCHING;
    pthread_mutex_unlock (&pf->lock);
    if (s->buf == NULL)
      s->buf = malloc (pf->cap);
    if (s->buf)
      r = s3_get_into (pf->c, s->key, s->buf, pf->cap, &s->len);
    /* The error, if any, is the chunk_get's to find again. */
    pthread_mutex_lock (&pf->lock);
    s->state = r == 0 ? SLOT_READY : SLOT_FAILED;
    pthread_cond_broadcast (&pf->fetched);
  }
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
  pthread_mutex_init (&pf->lock, NULL);
  pthread_cond_init (&pf->work, NULL);
  pthread_cond_init (&pf->fetched, NULL);
  return pf;
}

/* The slot holding (or fetching) chunk d, or NULL. */
static struct slot *
find (struct s3_prefetch *pf, const struct digest *d)
{
  for (size_t i = 0; i < S3_PREFETCH_SLOTS; i++)
    if (pf->slots[i].state != SLOT_FREE
        && digest_cmp (&pf->slots[i].d, d) == 0)
      return &pf->slots[i];
  return NULL;
}

/* A slot for a new hint: a free one, else the oldest fetched one nobody
 * claimed; NULL if every slot is queued or on its way. */
static struct slot *
slot_for_hint (struct s3_prefetch *pf)
{
  struct slot *victim = NULL;

  for (size_t i = 0; i < S3_PREFETCH_SLOTS; i++) {
    struct slot *s = &pf->slots[i];
    if (s->state == SLOT_FREE)
      return s;
    if ((s->state == SLOT_READY || s->state == SLOT_FAILED)
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

  if (pf->stop || strlen (key) >= sizeof s->key || find (pf, d))
    return; /* stopping, not a chunk's key, or on its way already */
  if (pf->nthreads == 0)
    start_threads (pf);
  if (pf->nthreads == 0 || (s = slot_for_hint (pf)) == NULL)
    return; /* a hint, not a promise: chunk_get will GET it */
  s->state = SLOT_QUEUED;
  s->seq = ++pf->seq;
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
  SCOPED_LOCK (&pf->lock);

  /* Looked for again after each wait: another reader of the same chunk
   * (data stored twice on the disk) may have taken it meanwhile. */
  while ((s = find (pf, d)) && s->state == SLOT_FETCHING)
    pthread_cond_wait (&pf->fetched, &pf->lock);
  if (s == NULL)
    return 0;
  /* A queued one not yet started: the caller's own GET is as quick. */
  if (s->state == SLOT_READY && s->len <= cap) {
    memcpy (buf, s->buf, s->len);
    *len = s->len;
    r = 1;
  }
  s->state = SLOT_FREE;
  return r;
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
  pthread_cond_destroy (&pf->fetched);
  pthread_cond_destroy (&pf->work);
  pthread_mutex_destroy (&pf->lock);
  free (pf);
}
