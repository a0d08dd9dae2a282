/* A small pool of request threads over one S3 client (see s3_pool.h).
 * The jobs live in a fixed array of slots: a few dozen at most, so
 * linear scans cost nothing next to a round trip. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "s3_pool.h"

#define POOL_THREADS_MAX 32
#define POOL_SLOTS 64

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_SENDING };

struct slot {
  enum slot_state state;
  bool is_chunk;
  struct digest d;
  char key[S3_KEY_MAX];
  unsigned char *data; /* NULL: a DELETE */
  size_t len;
};

struct s3_pool {
  struct s3_client *c;
  s3_pool_guard_fn guard;
  void *guard_opaque;
  pthread_t threads[POOL_THREADS_MAX];
  unsigned nthreads;
  size_t max_bytes;
  pthread_mutex_t lock;
  pthread_cond_t work; /* a job was queued, or stop */
  pthread_cond_t done; /* a job finished */
  struct slot slots[POOL_SLOTS];
  size_t used;  /* slots not free */
  size_t bytes; /* data held by them */
  bool stop, failed;
  char error[1024];
  int error_errno;
  uint64_t created, created_bytes;
  uint64_t kept; /* deletes Object Lock refused */
};

static struct slot *
next_queued (struct s3_pool *p)
{
  for (size_t i = 0; i < POOL_SLOTS; i++)
    if (p->slots[i].state == SLOT_QUEUED)
      return &p->slots[i];
  return NULL;
}

static void *
worker_main (void *opaque)
{
  struct s3_pool *p = opaque;

  pthread_mutex_lock (&p->lock);
  for (;;) {
    struct slot *s = NULL;
    int r;
    bool existed = false;

    while (!p->stop && (s = next_queued (p)) == NULL)
      pthread_cond_wait (&p->work, &p->lock);
    if (p->stop)
      break;
    s->state = SLOT_SENDING;
    pthread_mutex_unlock (&p->lock);
    if (p->guard && p->guard (p->guard_opaque) == -1)
      r = -1;
    else if (s->data) {
      struct s3_put_opts o = { .if_absent = true };
      r = s3_put (p->c, s->key, s->data, s->len, &o);
      if (r == -1 && get_errno () == EEXIST) {
        /* Already there (another writer, or our own try whose answer
         * was lost): its name is its content. */
        r = 0;
        existed = true;
      }
    }
    else {
      r = s3_delete (p->c, s->key);
      if (r == -1 && get_errno () == EPERM) {
        /* Kept by Object Lock: not an error that stops the run. */
        __atomic_add_fetch (&p->kept, 1, __ATOMIC_RELAXED);
        r = 0;
      }
    }
    pthread_mutex_lock (&p->lock);
    if (r == -1 && !p->failed) {
      p->failed = true;
      p->error_errno = get_errno ();
      snprintf (p->error, sizeof p->error, "%s", get_error ());
    }
    if (r == 0 && s->data && !existed) {
      p->created++;
      p->created_bytes += s->len;
    }
    free (s->data);
    p->bytes -= s->len;
    s->data = NULL;
    s->len = 0;
    s->state = SLOT_FREE;
    p->used--;
    pthread_cond_broadcast (&p->done);
  }
  pthread_mutex_unlock (&p->lock);
  return NULL;
}

struct s3_pool *
s3_pool_new (struct s3_client *c, unsigned threads, size_t max_bytes,
             s3_pool_guard_fn guard, void *guard_opaque)
{
  struct s3_pool *p = calloc (1, sizeof *p);

  if (!p) {
    set_error (errno, "calloc");
    return NULL;
  }
  p->c = c;
  p->max_bytes = max_bytes;
  p->guard = guard;
  p->guard_opaque = guard_opaque;
  pthread_mutex_init (&p->lock, NULL);
  pthread_cond_init (&p->work, NULL);
  pthread_cond_init (&p->done, NULL);
  if (threads > POOL_THREADS_MAX)
    threads = POOL_THREADS_MAX;
  for (unsigned i = 0; i < threads; i++) {
    if (pthread_create (&p->threads[i], NULL, worker_main, p) != 0) {
      set_error (0, "cannot start an S3 request thread");
      s3_pool_free (p);
      return NULL;
    }
    p->nthreads++;
  }
  return p;
}

static int
failed_error (struct s3_pool *p)
{
  set_error (p->error_errno, "%s", p->error);
  return -1;
}

/* Under p->lock: a free slot, once there is room for len more bytes
 * (one job always fits, however large). */
static struct slot *
free_slot (struct s3_pool *p, size_t len)
{
  while (!p->failed
         && (p->used == POOL_SLOTS
             || (p->used > 0 && p->bytes + len > p->max_bytes)))
    pthread_cond_wait (&p->done, &p->lock);
  if (p->failed)
    return NULL;
  for (size_t i = 0; i < POOL_SLOTS; i++)
    if (p->slots[i].state == SLOT_FREE)
      return &p->slots[i];
  return NULL; /* not reached: used < POOL_SLOTS */
}

static int
queue (struct s3_pool *p, const struct digest *d, const char *key,
       const void *data, size_t len, bool put)
{
  unsigned char *copy = NULL;
  struct slot *s;

  if (put) {
    /* malloc(0) may be NULL: keep a non-NULL buffer for an empty PUT. */
    copy = malloc (len ? len : 1);
    if (!copy) {
      set_error (errno, "S3 upload of %s", key);
      return -1;
    }
    memcpy (copy, data, len);
  }
  pthread_mutex_lock (&p->lock);
  s = free_slot (p, len);
  if (!s) {
    pthread_mutex_unlock (&p->lock);
    free (copy);
    return failed_error (p);
  }
  s->state = SLOT_QUEUED;
  s->is_chunk = d != NULL;
  if (d)
    s->d = *d;
  snprintf (s->key, sizeof s->key, "%s", key);
  s->data = copy;
  s->len = put ? len : 0;
  p->used++;
  p->bytes += s->len;
  pthread_cond_signal (&p->work);
  pthread_mutex_unlock (&p->lock);
  return 0;
}

int
s3_pool_put (struct s3_pool *p, const struct digest *d, const char *key,
             const void *data, size_t len)
{
  return queue (p, d, key, data, len, true);
}

int
s3_pool_delete (struct s3_pool *p, const char *key)
{
  return queue (p, NULL, key, NULL, 0, false);
}

bool
s3_pool_has (struct s3_pool *p, const struct digest *d)
{
  SCOPED_LOCK (&p->lock);

  for (size_t i = 0; i < POOL_SLOTS; i++)
    if (p->slots[i].state != SLOT_FREE && p->slots[i].is_chunk
        && digest_cmp (&p->slots[i].d, d) == 0)
      return true;
  return false;
}

int
s3_pool_wait (struct s3_pool *p)
{
  int r = 0;

  pthread_mutex_lock (&p->lock);
  while (p->used > 0)
    pthread_cond_wait (&p->done, &p->lock);
  if (p->failed)
    r = -1;
  pthread_mutex_unlock (&p->lock);
  return r == -1 ? failed_error (p) : 0;
}

void
s3_pool_counts (struct s3_pool *p, uint64_t *created, uint64_t *bytes)
{
  SCOPED_LOCK (&p->lock);

  *created = p->created;
  *bytes = p->created_bytes;
}

void
s3_pool_free (struct s3_pool *p)
{
  if (!p)
    return;
  pthread_mutex_lock (&p->lock);
  /* Jobs not yet taken are dropped; those being sent finish first. */
  for (size_t i = 0; i < POOL_SLOTS; i++)
    if (p->slots[i].state == SLOT_QUEUED) {
      free (p->slots[i].data);
      p->slots[i].data = NULL;
      p->slots[i].state = SLOT_FREE;
      p->used--;
    }
  p->stop = true;
  pthread_cond_broadcast (&p->work);
  pthread_mutex_unlock (&p->lock);
  for (unsigned i = 0; i < p->nthreads; i++)
    pthread_join (p->threads[i], NULL);
  pthread_mutex_destroy (&p->lock);
  pthread_cond_destroy (&p->work);
  pthread_cond_destroy (&p->done);
  free (p);
}

uint64_t
s3_pool_kept (struct s3_pool *p)
{
  return __atomic_load_n (&p->kept, __ATOMIC_RELAXED);
}
