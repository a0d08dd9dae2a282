/* The ssh backend: chunks (see ssh.h).  Uploads are not waited
 * for, and reading a stream fetches ahead, so that the link stays busy
 * rather than idle a round trip per chunk. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/endian.h"
#include "common/error.h"
#include "client_private.h"
#include "remote/protocol.h"

/* The first failure of an upload stops the backup at its next call. */
static int
check_failed (struct client *cl)
{
  SCOPED_LOCK (&cl->lock);
  if (cl->failed) {
    set_error (0, "%s", cl->error);
    return -1;
  }
  return 0;
}

static void
record_failure (struct client *cl, const unsigned char *p, size_t len)
{
  SCOPED_LOCK (&cl->lock);
  if (!cl->failed) {
    cl->failed = true;
    snprintf (cl->error, sizeof cl->error, "%.*s", (int) len, p);
  }
}

static void
refresh_ahead_done (void *opaque, int status, const unsigned char *p,
                    size_t len)
{
  struct refresh_ahead *ra = opaque;
  struct client *cl = ra->cl;

  if (status == ST_MORE)
    return;
  SCOPED_LOCK (&cl->lock);
  ra->failed = status != ST_OK || len != 1 || p[0] > 1;
  ra->present = !ra->failed && p[0] == 1;
  ra->done = true;
  pthread_cond_broadcast (&cl->cond);
}

void
remote_chunk_refresh_ahead (struct backend *be, const struct digest *d)
{
  struct client *cl = client_of (be);
  struct refresh_ahead *ra = NULL;
  unsigned char req[4 + DIGEST_LEN];

  pthread_mutex_lock (&cl->lock);
  for (size_t i = 0; i < REFRESH_SLOTS; i++) {
    struct refresh_ahead *r = &cl->refresh[i];
    if (r->used && digest_cmp (&r->d, d) == 0) {
      pthread_mutex_unlock (&cl->lock);
      return;
    }
    if (!r->used && ra == NULL)
      ra = r;
  }
  if (ra == NULL)
    for (size_t i = 0; i < REFRESH_SLOTS; i++) {
      struct refresh_ahead *r = &cl->refresh[i];
      if (r->done && (ra == NULL || r->seq < ra->seq))
        ra = r;
    }
  if (ra == NULL) {
    pthread_mutex_unlock (&cl->lock);
    return;
  }
  *ra = (struct refresh_ahead) {
    .used = true, .seq = ++cl->refresh_seq, .d = *d, .cl = cl
  };
  cl->session = true;
  pthread_mutex_unlock (&cl->lock);
  put_le32 (req, 1);
  memcpy (req + 4, d->b, DIGEST_LEN);
  if (conn_send (cl->conn, OP_REFRESH, req, sizeof req, NULL, 0,
                 refresh_ahead_done, ra)
      == -1) {
    SCOPED_LOCK (&cl->lock);
    ra->done = ra->failed = true;
    pthread_cond_broadcast (&cl->cond);
  }
}

/* The answer of a REFRESH sent ahead for d: 1 present, 0 absent, -1 none
 * (or it failed: the caller asks again and gets the error itself). */
static int
take_refreshed (struct client *cl, const struct digest *d)
{
  SCOPED_LOCK (&cl->lock);

  for (size_t i = 0; i < REFRESH_SLOTS; i++) {
    struct refresh_ahead *r = &cl->refresh[i];
    if (!r->used || digest_cmp (&r->d, d) != 0)
      continue;
    while (!r->done)
      pthread_cond_wait (&cl->cond, &cl->lock);
    r->used = false;
    return r->failed ? -1 : r->present;
  }
  return -1;
}

int
remote_chunk_refresh (struct backend *be, const struct digest *d)
{
  struct client *cl = client_of (be);
  unsigned char answer[1], req[4 + DIGEST_LEN];
  struct conn_reply reply = { .buf = answer, .cap = sizeof answer };
  int ahead;

  if (check_failed (cl) == -1)
    return -1;
  ahead = take_refreshed (cl, d);
  if (ahead != -1)
    return ahead;
  put_le32 (req, 1);
  memcpy (req + 4, d->b, DIGEST_LEN);
  if (conn_call (cl->conn, OP_REFRESH, req, sizeof req, NULL, 0, &reply) == -1)
    return -1;
  __atomic_store_n (&cl->session, true, __ATOMIC_RELAXED);
  if (reply.len != 1 || answer[0] > 1) {
    set_error (0, "protocol error: bad REFRESH answer");
    return -1;
  }
  return answer[0];
}

static void
put_done (void *opaque, int status, const unsigned char *p, size_t len)
{
  struct client *cl = opaque;

  if (status == ST_OK && len == 9) {
    if (p[0]) {
      __atomic_add_fetch (&cl->new_chunks, 1, __ATOMIC_RELAXED);
      __atomic_add_fetch (&cl->new_bytes, get_le64 (p + 1), __ATOMIC_RELAXED);
    }
  }
  else if (status == ST_OK)
    record_failure (cl,
                    (const unsigned char *) "protocol error: bad PUT "
                                            "answer",
                    27);
  else if (status != ST_MORE)
    record_failure (cl, p, len);
}

int
remote_chunk_put (struct backend *be, const struct digest *d,
                  const unsigned char *enc, size_t len)
{
  struct client *cl = client_of (be);

  if (check_failed (cl) == -1)
    return -1;
  __atomic_store_n (&cl->session, true, __ATOMIC_RELAXED);
  /* Not waited for: the answers come back while the next chunks are
   * compressed and sent; finish collects any failure. */
  return conn_send (cl->conn, OP_PUT, d->b, DIGEST_LEN, enc, len, put_done,
                    cl);
}

static void
prefetch_done (void *opaque, int status, const unsigned char *p, size_t len)
{
  struct prefetch *pf = opaque;
  struct client *cl = pf->cl;

  if (status == ST_MORE)
    return;
  SCOPED_LOCK (&cl->lock);
  pf->failed = status != ST_OK || len > FORMAT_CHUNK_FILE_MAX (cl->chunk_size);
  if (!pf->failed) {
    memcpy (pf->buf, p, len);
    pf->len = len;
  }
  pf->done = true;
  pthread_cond_broadcast (&cl->cond);
}

void
remote_chunk_prefetch (struct backend *be, const struct digest *d)
{
  struct client *cl = client_of (be);
  struct prefetch *pf = NULL;

  pthread_mutex_lock (&cl->lock);
  for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
    struct prefetch *p = &cl->prefetch[i];
    if (p->used && digest_cmp (&p->d, d) == 0) {
      pthread_mutex_unlock (&cl->lock);
      return; /* on its way already */
    }
    if (!p->used && pf == NULL)
      pf = p;
  }
  if (pf == NULL) /* make room: the oldest one in */
    for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
      struct prefetch *p = &cl->prefetch[i];
      if (p->done && (pf == NULL || p->seq < pf->seq))
        pf = p;
    }
  if (pf && pf->buf == NULL)
    pf->buf = malloc (FORMAT_CHUNK_FILE_MAX (cl->chunk_size));
  if (pf == NULL || pf->buf == NULL) {
    pthread_mutex_unlock (&cl->lock);
    return;
  }
  pf->used = true;
  pf->done = pf->failed = false;
  pf->seq = ++cl->prefetch_seq;
  pf->d = *d;
  pf->cl = cl;
  pthread_mutex_unlock (&cl->lock);
  if (conn_send (cl->conn, OP_GET, d->b, DIGEST_LEN, NULL, 0, prefetch_done,
                 pf)
      == -1) {
    /* Not sent (or failed by the reader already): chunk_get asks
     * again, and reports the error. */
    SCOPED_LOCK (&cl->lock);
    pf->done = pf->failed = true;
    pthread_cond_broadcast (&cl->cond);
  }
}

/* A prefetched copy of d, if there is one: 1 copied to buf, 0 none (or
 * it failed: the caller asks again and gets the error itself). */
static int
take_prefetched (struct client *cl, const struct digest *d, unsigned char *buf,
                 size_t cap, size_t *len)
{
  SCOPED_LOCK (&cl->lock);

  for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
    struct prefetch *p = &cl->prefetch[i];
    int r = 0;

    if (!p->used || digest_cmp (&p->d, d) != 0)
      continue;
    while (!p->done)
      pthread_cond_wait (&cl->cond, &cl->lock);
    if (!p->failed && p->len <= cap) {
      memcpy (buf, p->buf, p->len);
      *len = p->len;
      r = 1;
    }
    p->used = false;
    return r;
  }
  return 0;
}

int
remote_chunk_get (struct backend *be, const struct digest *d,
                  unsigned char *buf, size_t cap, size_t *len)
{
  struct client *cl = client_of (be);
  struct conn_reply reply = { .buf = buf, .cap = cap };

  if (take_prefetched (cl, d, buf, cap, len) == 1)
    return 0;

  if (conn_call (cl->conn, OP_GET, d->b, DIGEST_LEN, NULL, 0, &reply) == -1) {
    /* The server's message is all that crosses the link; a missing chunk
     * is one the server's backend said so of (backend.h), anything else
     * (its I/O, the link) leaves the chunk's state unknown. */
    const char *msg = get_error ();
    size_t n = strlen (msg);
    if (n >= 9 && strcmp (msg + n - 9, ": missing") == 0)
      set_error_kind (ERROR_MISSING);
    return -1;
  }
  *len = reply.len;
  return 0;
}

int
remote_finish (struct backend *be, struct backend_stats *stats)
{
  struct client *cl = client_of (be);

  /* Answered after every PUT sent before it. */
  if (conn_call (cl->conn, OP_FINISH, NULL, 0, NULL, 0, NULL) == -1
      || check_failed (cl) == -1)
    return -1;
  stats->new_chunks = __atomic_load_n (&cl->new_chunks, __ATOMIC_RELAXED);
  stats->new_bytes = __atomic_load_n (&cl->new_bytes, __ATOMIC_RELAXED);
  return 0;
}

void
remote_session_end (struct backend *be)
{
  struct client *cl = client_of (be);

  if (cl->session)
    conn_call (cl->conn, OP_END, NULL, 0, NULL, 0, NULL);
  cl->session = false;
  cl->new_chunks = cl->new_bytes = 0;
}
