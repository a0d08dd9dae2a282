/* Chunk store writer session (see store.h): the dedup decision and the
 * statistics here, the storing in the backend. */
#include <string.h>

#include "store.h"

#define BE(s) ((s)->repo->be)

int
store_begin (struct store *s, struct repo *repo)
{
  memset (s, 0, sizeof *s);
  s->repo = repo;
  s->begun = true;
  return BE (s)->ops->writer_begin (BE (s));
}

static void
count_reused (struct store *s)
{
  __atomic_add_fetch (&s->stats.reused_chunks, 1, __ATOMIC_RELAXED);
}

int
store_put (struct store *s, struct chunk_ctx *ctx, int worker,
           const struct digest *d, const void *data, size_t len)
{
  const unsigned char *enc;
  size_t enclen;
  int r = BE (s)->ops->chunk_refresh (BE (s), worker, d);

  if (r == -1)
    return -1;
  if (r == 1) {
    count_reused (s);
    return 0;
  }
  if (chunk_encode (ctx, d, data, len, &enc, &enclen) == -1)
    return -1;
  return store_put_encoded (s, worker, d, enc, enclen, NULL);
}

int
store_put_encoded (struct store *s, int worker, const struct digest *d,
                   const unsigned char *enc, size_t enclen, bool *stored)
{
  bool wrote;
  int r = BE (s)->ops->chunk_put (BE (s), worker, d, enc, enclen,
                                  stored != NULL, &wrote);

  if (stored)
    *stored = r == 0 && wrote;
  if (r == -1)
    return -1;
  if (wrote) {
    __atomic_add_fetch (&s->stats.new_chunks, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch (&s->stats.new_bytes, enclen, __ATOMIC_RELAXED);
  }
  else
    count_reused (s);
  return 0;
}

int
store_refresh (struct store *s, int worker, const struct digest *d)
{
  int r = BE (s)->ops->chunk_refresh (BE (s), worker, d);

  if (r == 1)
    count_reused (s);
  return r;
}

int
store_refresh_named (struct store *s, int worker, const struct digest *d)
{
  if (BE (s)->ops->chunk_kept && BE (s)->ops->chunk_kept (BE (s), d)) {
    count_reused (s);
    return 1;
  }
  return store_refresh (s, worker, d);
}

bool
store_keeps_named (const struct store *s)
{
  return BE (s)->ops->chunk_kept != NULL;
}

void
store_refresh_ahead (struct store *s, const struct digest *d)
{
  if (BE (s)->ops->chunk_refresh_ahead)
    BE (s)->ops->chunk_refresh_ahead (BE (s), d);
}

bool
store_refresh_ahead_useful (const struct store *s)
{
  return BE (s)->ops->chunk_refresh_ahead != NULL;
}

int
store_finish (struct store *s)
{
  return BE (s)->ops->writer_flush (BE (s), &s->stats);
}

void
store_end (struct store *s)
{
  if (s->repo && s->begun)
    BE (s)->ops->writer_end (BE (s));
  s->begun = false;
}
