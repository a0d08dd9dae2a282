/* Random access to a disk of a backup through a cache of decoded chunks
 * (see disk_reader.h).
 *
 * The cache is a small array of slots, found by a linear scan (a few
 * dozen slots: a scan costs nothing next to decoding a chunk) and
 * evicted least recently used first.  A slot being loaded is marked so,
 * and a second reader of the same chunk waits for it instead of
 * decoding it again.  A reader holds at most one slot at a time and
 * never waits while holding one, so readers cannot deadlock however
 * small the cache. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "disk_reader.h"

enum slot_state { SLOT_EMPTY, SLOT_LOADING, SLOT_READY };

struct cache_slot {
  enum slot_state state;
  uint64_t chunk;     /* which chunk, unless empty */
  unsigned refs;      /* readers copying out of it (or loading it) */
  uint64_t used;      /* tick of the last use: the least is evicted */
  unsigned char *buf; /* chunk_size bytes once first loaded */
};

struct disk_reader {
  struct repo *repo;
  char *name;
  struct index_reader index;
  pthread_mutex_t lock;
  pthread_cond_t changed; /* a slot was loaded, failed or released */
  struct cache_slot *slots;
  size_t nslots;
  uint64_t tick;
  /* Idle per-thread decoding states (chunk_ctx), reused by whichever
   * thread loads next: at most one per slot is ever made. */
  struct chunk_ctx **idle_ctx;
  size_t nidle;
  uint64_t loads, hits;
  /* Read-ahead, where the backend gains by it (across a network): a
   * miss right after a miss of the chunk before starts fetching the
   * next ones, so a sequential reader does not wait a round trip per
   * chunk; random reads fetch nothing extra. */
  bool prefetch;
  uint64_t last_miss;
};

#define READ_AHEAD 2

struct disk_reader *
disk_reader_open (struct repo *repo, const struct manifest_disk *disk,
                  size_t cache_bytes)
{
  struct disk_reader *r = calloc (1, sizeof *r);

  if (r == NULL || (r->name = strdup (disk->name)) == NULL) {
    free (r);
    set_error (ENOMEM, "disk reader");
    return NULL;
  }
  r->repo = repo;
  r->index.fd = -1;
  if (index_reader_open (&r->index, repo, &disk->index) == -1) {
    error_prefix ("disk %s", disk->name);
    goto fail;
  }
  if (r->index.hdr.disk_size != disk->size) {
    set_error (0, "disk %s: index size %llu differs from manifest %llu",
               disk->name, (unsigned long long) r->index.hdr.disk_size,
               (unsigned long long) disk->size);
    goto fail;
  }
  r->nslots = cache_bytes / r->index.hdr.chunk_size;
  if (r->nslots < DISK_READER_MIN_CHUNKS)
    r->nslots = DISK_READER_MIN_CHUNKS;
  r->slots = calloc (r->nslots, sizeof *r->slots);
  r->idle_ctx = calloc (r->nslots, sizeof *r->idle_ctx);
  if (r->slots == NULL || r->idle_ctx == NULL) {
    set_error (ENOMEM, "disk reader cache");
    goto fail;
  }
  r->prefetch = chunk_prefetch_useful (repo);
  r->last_miss = UINT64_MAX - 1;
  pthread_mutex_init (&r->lock, NULL);
  pthread_cond_init (&r->changed, NULL);
  return r;

fail:
  if (r->index.fd >= 0)
    index_reader_close (&r->index);
  free (r->slots);
  free (r->idle_ctx);
  free (r->name);
  free (r);
  return NULL;
}

void
disk_reader_close (struct disk_reader *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->nslots; i++)
    free (r->slots[i].buf);
  for (size_t i = 0; i < r->nidle; i++)
    chunk_ctx_free (r->idle_ctx[i]);
  index_reader_close (&r->index);
  pthread_mutex_destroy (&r->lock);
  pthread_cond_destroy (&r->changed);
  free (r->slots);
  free (r->idle_ctx);
  free (r->name);
  free (r);
}

uint64_t
disk_reader_size (const struct disk_reader *r)
{
  return r->index.hdr.disk_size;
}

uint32_t
disk_reader_chunk_size (const struct disk_reader *r)
{
  return r->index.hdr.chunk_size;
}

void
disk_reader_get_stats (struct disk_reader *r, struct disk_reader_stats *st)
{
  SCOPED_LOCK (&r->lock);
  st->loads = r->loads;
  st->hits = r->hits;
  st->capacity = r->nslots;
  st->cached = 0;
  for (size_t i = 0; i < r->nslots; i++)
    st->cached += r->slots[i].state == SLOT_READY;
}

/* The length of chunk i (the last one may be short). */
static size_t
chunk_len (const struct disk_reader *r, uint64_t i)
{
  uint64_t off = i * r->index.hdr.chunk_size;
  uint64_t left = r->index.hdr.disk_size - off;

  return left < r->index.hdr.chunk_size ? left : r->index.hdr.chunk_size;
}

/* Decode chunk i, named d, into slot (not under the lock). */
static int
load_slot (struct disk_reader *r, struct cache_slot *slot, uint64_t i,
           const struct digest *d)
{
  struct chunk_ctx *ctx = NULL;
  size_t want = chunk_len (r, i), rawlen;
  int ret = -1;

  pthread_mutex_lock (&r->lock);
  if (r->nidle > 0)
    ctx = r->idle_ctx[--r->nidle];
  pthread_mutex_unlock (&r->lock);
  if (ctx == NULL && (ctx = chunk_ctx_for (r->repo, 0)) == NULL)
    return -1;
  if (slot->buf == NULL
      && (slot->buf = malloc (r->index.hdr.chunk_size)) == NULL)
    set_error (ENOMEM, "disk %s: chunk buffer", r->name);
  else if (chunk_load (r->repo, ctx, d, slot->buf, &rawlen) == -1)
    error_prefix ("disk %s offset %llu", r->name,
                  (unsigned long long) (i * r->index.hdr.chunk_size));
  else if (rawlen != want) {
    set_error (0,
               "disk %s offset %llu: chunk has %zu bytes, the backup's "
               "index expects %zu",
               r->name, (unsigned long long) (i * r->index.hdr.chunk_size),
               rawlen, want);
    set_error_kind (ERROR_DAMAGED);
  }
  else
    ret = 0;
  pthread_mutex_lock (&r->lock);
  r->idle_ctx[r->nidle++] = ctx; /* one per slot at most: always room */
  pthread_mutex_unlock (&r->lock);
  return ret;
}

static void
read_ahead (struct disk_reader *r, uint64_t i)
{
  struct digest d;

  for (uint64_t k = i + 1; k <= i + READ_AHEAD && k < r->index.hdr.chunk_count;
       k++)
    if (index_reader_get (&r->index, k, &d) == 0 && !digest_is_zero (&d))
      chunk_prefetch (r->repo, &d);
}

/* The slot holding chunk i, decoded, with a reference taken; NULL with
 * the error set when it cannot be loaded. */
static struct cache_slot *
pin_chunk (struct disk_reader *r, uint64_t i, const struct digest *d)
{
  struct cache_slot *slot;
  bool sequential;
  int ok;

  pthread_mutex_lock (&r->lock);
  for (;;) {
    struct cache_slot *victim = NULL;
    bool loading = false;

    slot = NULL;
    for (size_t k = 0; k < r->nslots; k++) {
      struct cache_slot *s = &r->slots[k];
      if (s->state != SLOT_EMPTY && s->chunk == i) {
        slot = s;
        break;
      }
      if (s->refs == 0 && s->state != SLOT_LOADING
          && (victim == NULL || s->state == SLOT_EMPTY
              || (victim->state != SLOT_EMPTY && s->used < victim->used)))
        victim = s;
    }
    if (slot && slot->state == SLOT_READY) {
      slot->refs++;
      slot->used = ++r->tick;
      r->hits++;
      pthread_mutex_unlock (&r->lock);
      return slot;
    }
    loading = slot != NULL;
    if (loading || victim == NULL) {
      /* Another reader is decoding this chunk, or every slot is in
       * use: wait for a change. */
      pthread_cond_wait (&r->changed, &r->lock);
      continue;
    }
    slot = victim;
    slot->state = SLOT_LOADING;
    slot->chunk = i;
    slot->refs = 1;
    break;
  }
  sequential = r->prefetch && i == r->last_miss + 1;
  r->last_miss = i;
  pthread_mutex_unlock (&r->lock);

  if (sequential)
    read_ahead (r, i);

  ok = load_slot (r, slot, i, d) == 0;

  pthread_mutex_lock (&r->lock);
  if (ok) {
    slot->state = SLOT_READY;
    slot->used = ++r->tick;
    r->loads++;
  }
  else {
    /* Never cached: the next reader tries again, and fails the same
     * way if the chunk is damaged. */
    slot->state = SLOT_EMPTY;
    slot->refs = 0;
  }
  pthread_cond_broadcast (&r->changed);
  pthread_mutex_unlock (&r->lock);
  return ok ? slot : NULL;
}

static void
unpin (struct disk_reader *r, struct cache_slot *slot)
{
  SCOPED_LOCK (&r->lock);
  if (--slot->refs == 0)
    pthread_cond_broadcast (&r->changed);
}

static int
check_range (const struct disk_reader *r, uint64_t offset, uint64_t len)
{
  if (offset > r->index.hdr.disk_size
      || len > r->index.hdr.disk_size - offset) {
    set_error (EINVAL, "disk %s: range %llu+%llu is beyond its end (%llu)",
               r->name, (unsigned long long) offset, (unsigned long long) len,
               (unsigned long long) r->index.hdr.disk_size);
    return -1;
  }
  return 0;
}

int
disk_reader_read (struct disk_reader *r, void *buf, size_t len,
                  uint64_t offset)
{
  uint32_t cs = r->index.hdr.chunk_size;
  unsigned char *out = buf;

  if (check_range (r, offset, len) == -1)
    return -1;
  while (len > 0) {
    uint64_t i = offset / cs;
    size_t in = offset % cs;
    size_t n = chunk_len (r, i) - in;
    struct digest d;

    if (n > len)
      n = len;
    if (index_reader_get (&r->index, i, &d) == -1) {
      error_prefix ("disk %s", r->name);
      return -1;
    }
    if (digest_is_zero (&d))
      memset (out, 0, n);
    else {
      struct cache_slot *slot = pin_chunk (r, i, &d);
      if (slot == NULL)
        return -1;
      memcpy (out, slot->buf + in, n);
      unpin (r, slot);
    }
    out += n;
    offset += n;
    len -= n;
  }
  return 0;
}

int
disk_reader_extents (struct disk_reader *r, uint64_t offset, uint64_t len,
                     disk_extent_fn fn, void *opaque)
{
  uint32_t cs = r->index.hdr.chunk_size;
  uint64_t run_start = offset, run_len = 0;
  bool run_zero = false;

  if (check_range (r, offset, len) == -1)
    return -1;
  while (len > 0) {
    uint64_t i = offset / cs;
    uint64_t n = chunk_len (r, i) - offset % cs;
    struct digest d;
    bool zero;

    if (n > len)
      n = len;
    if (index_reader_get (&r->index, i, &d) == -1) {
      error_prefix ("disk %s", r->name);
      return -1;
    }
    zero = digest_is_zero (&d);
    if (run_len > 0 && zero != run_zero) {
      if (fn (opaque, run_start, run_len, run_zero) == -1)
        return -1;
      run_start = offset;
      run_len = 0;
    }
    run_zero = zero;
    run_len += n;
    offset += n;
    len -= n;
  }
  if (run_len > 0 && fn (opaque, run_start, run_len, run_zero) == -1)
    return -1;
  return 0;
}
