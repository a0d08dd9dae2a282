/* Remote repository operations over the protocol (see client.h and
 * repo/remote_ops.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "repo/manifest.h"
#include "repo/remote_ops.h"
#include "repo/store.h"
#include "client.h"
#include "conn.h"
#include "protocol.h"

/* Chunks fetched ahead (chunk_prefetch), waiting for their chunk_get.
 * Bounded: a hint that finds every slot busy is dropped, and a fetched
 * chunk nobody asked for is the first to make room. */
#define PREFETCH_SLOTS 8

struct prefetch {
  bool used, done, failed;
  uint64_t seq;                 /* age, for eviction */
  struct digest d;
  unsigned char *buf;
  size_t len;
  struct client *cl;
};

struct client {
  struct conn *conn;
  uint32_t flags;
  uint32_t chunk_size;
  pthread_mutex_t lock;
  pthread_cond_t cond;          /* a prefetch arrived */
  struct prefetch prefetch[PREFETCH_SLOTS];
  uint64_t prefetch_seq;
  bool session;                 /* the server holds a writer session */
  bool failed;                  /* an asynchronous upload failed */
  char error[1024];
  uint64_t new_chunks, new_bytes;
};

static struct client *
client_of (struct repo *repo)
{
  return repo->remote_conn;
}

/* Chunks */

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

static int
remote_chunk_refresh (struct repo *repo, const struct digest *d)
{
  struct client *cl = client_of (repo);
  unsigned char answer[1], req[4 + DIGEST_LEN];
  struct conn_reply reply = { .buf = answer, .cap = sizeof answer };

  if (check_failed (cl) == -1)
    return -1;
  put_le32 (req, 1);
  memcpy (req + 4, d->b, DIGEST_LEN);
  if (conn_call (cl->conn, OP_REFRESH, req, sizeof req, NULL, 0,
                 &reply) == -1)
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
    record_failure (cl, (const unsigned char *) "protocol error: bad PUT "
                    "answer", 27);
  else if (status != ST_MORE)
    record_failure (cl, p, len);
}

static int
remote_chunk_put (struct repo *repo, const struct digest *d,
                  const unsigned char *enc, size_t len)
{
  struct client *cl = client_of (repo);

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
  pf->failed = status != ST_OK || len > CHUNK_HEADER_LEN + cl->chunk_size;
  if (!pf->failed) {
    memcpy (pf->buf, p, len);
    pf->len = len;
  }
  pf->done = true;
  pthread_cond_broadcast (&cl->cond);
}

static void
remote_chunk_prefetch (struct repo *repo, const struct digest *d)
{
  struct client *cl = client_of (repo);
  struct prefetch *pf = NULL;

  pthread_mutex_lock (&cl->lock);
  for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
    struct prefetch *p = &cl->prefetch[i];
    if (p->used && digest_cmp (&p->d, d) == 0) {
      pthread_mutex_unlock (&cl->lock);
      return;                   /* on its way already */
    }
    if (!p->used && pf == NULL)
      pf = p;
  }
  if (pf == NULL)               /* make room: the oldest one in */
    for (size_t i = 0; i < PREFETCH_SLOTS; i++) {
      struct prefetch *p = &cl->prefetch[i];
      if (p->done && (pf == NULL || p->seq < pf->seq))
        pf = p;
    }
  if (pf && pf->buf == NULL)
    pf->buf = malloc (CHUNK_HEADER_LEN + cl->chunk_size);
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
                 pf) == -1) {
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
take_prefetched (struct client *cl, const struct digest *d,
                 unsigned char *buf, size_t cap, size_t *len)
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

static int
remote_chunk_get (struct repo *repo, const struct digest *d,
                  unsigned char *buf, size_t cap, size_t *len)
{
  struct client *cl = client_of (repo);
  struct conn_reply reply = { .buf = buf, .cap = cap };

  if (take_prefetched (cl, d, buf, cap, len) == 1)
    return 0;

  if (conn_call (cl->conn, OP_GET, d->b, DIGEST_LEN, NULL, 0, &reply) == -1)
    return -1;
  *len = reply.len;
  return 0;
}

static int
remote_finish (struct repo *repo, struct store_stats *stats)
{
  struct client *cl = client_of (repo);

  /* Answered after every PUT sent before it. */
  if (conn_call (cl->conn, OP_FINISH, NULL, 0, NULL, 0, NULL) == -1
      || check_failed (cl) == -1)
    return -1;
  stats->new_chunks = __atomic_load_n (&cl->new_chunks, __ATOMIC_RELAXED);
  stats->new_bytes = __atomic_load_n (&cl->new_bytes, __ATOMIC_RELAXED);
  return 0;
}

static void
remote_session_end (struct repo *repo)
{
  struct client *cl = client_of (repo);

  if (cl->session)
    conn_call (cl->conn, OP_END, NULL, 0, NULL, 0, NULL);
  cl->session = false;
  cl->new_chunks = cl->new_bytes = 0;
}

/* Indexes */

struct upload {
  struct client *cl;
  bool failed;
  char error[PROTO_MAX_MESSAGE + 1];
};

static void
upload_done (void *opaque, int status, const unsigned char *p, size_t len)
{
  struct upload *u = opaque;

  if (status != ST_OK && status != ST_MORE && !u->failed) {
    u->failed = true;
    snprintf (u->error, sizeof u->error, "%.*s", (int) len, p);
  }
}

static int
remote_index_put (struct repo *repo, const struct digest *id, int fd,
                  uint64_t len)
{
  struct client *cl = client_of (repo);
  struct upload u = { .cl = cl };
  unsigned char hdr[DIGEST_LEN + 8];
  CLEANUP_FREE unsigned char *buf = malloc (PROTO_MAX_READ);

  if (buf == NULL) {
    set_error (errno, "malloc");
    return -1;
  }
  memcpy (hdr, id->b, DIGEST_LEN);
  put_le64 (hdr + DIGEST_LEN, len);
  if (conn_call (cl->conn, OP_INDEX_BEGIN, hdr, sizeof hdr, NULL, 0,
                 NULL) == -1)
    return -1;
  for (uint64_t off = 0; off < len; off += PROTO_MAX_READ) {
    size_t n = len - off < PROTO_MAX_READ ? len - off : PROTO_MAX_READ;
    if (read_full (fd, buf, n, off) == -1) {
      set_error (errno, "read index");
      return -1;
    }
    put_le64 (hdr + DIGEST_LEN, off);
    if (conn_send (cl->conn, OP_INDEX_DATA, hdr, sizeof hdr, buf, n,
                   upload_done, &u) == -1) {
      /* Answers to the pieces already sent refer to u: wait them out. */
      conn_drain (cl->conn);
      return -1;
    }
  }
  /* The commit is answered after every piece. */
  if (conn_call (cl->conn, OP_INDEX_COMMIT, id->b, DIGEST_LEN, NULL, 0,
                 NULL) == -1) {
    if (u.failed)
      set_error (0, "%s", u.error);
    return -1;
  }
  return 0;
}

struct download {
  int fd;
  uint64_t next;                /* answers come in request order */
  uint64_t len;
  bool failed;
  char error[PROTO_MAX_MESSAGE + 1];
};

static void
download_done (void *opaque, int status, const unsigned char *p, size_t len)
{
  struct download *dl = opaque;
  uint64_t want = dl->len - dl->next < PROTO_MAX_READ ? dl->len - dl->next
    : PROTO_MAX_READ;

  if (status == ST_MORE || dl->failed)
    return;
  if (status != ST_OK) {
    snprintf (dl->error, sizeof dl->error, "%.*s", (int) len, p);
    dl->failed = true;
  }
  else if (len != want) {
    snprintf (dl->error, sizeof dl->error, "protocol error: index piece "
              "of %zu bytes, expected %llu", len, (unsigned long long) want);
    dl->failed = true;
  }
  else if (write_full (dl->fd, p, len, dl->next) == -1) {
    snprintf (dl->error, sizeof dl->error, "write: %s", strerror (errno));
    dl->failed = true;
  }
  dl->next += len;
}

static int
remote_index_get (struct repo *repo, const struct digest *id, int fd,
                  uint64_t *len)
{
  struct client *cl = client_of (repo);
  unsigned char size[8], req[DIGEST_LEN + 12];
  struct conn_reply reply = { .buf = size, .cap = sizeof size };
  struct download dl = { .fd = fd };
  uint64_t off;

  if (conn_call (cl->conn, OP_INDEX_SIZE, id->b, DIGEST_LEN, NULL, 0,
                 &reply) == -1)
    return -1;
  if (reply.len != 8) {
    set_error (0, "protocol error: bad INDEX_SIZE answer");
    return -1;
  }
  dl.len = *len = get_le64 (size);
  memcpy (req, id->b, DIGEST_LEN);
  for (off = 0; off < dl.len; off += PROTO_MAX_READ) {
    uint32_t n = dl.len - off < PROTO_MAX_READ ? dl.len - off
      : PROTO_MAX_READ;
    put_le64 (req + DIGEST_LEN, off);
    put_le32 (req + DIGEST_LEN + 8, n);
    if (conn_send (cl->conn, OP_INDEX_READ, req, sizeof req, NULL, 0,
                   download_done, &dl) == -1)
      break;
  }
  /* dl is on this stack: every answer must be in before returning. */
  if (conn_drain (cl->conn) == -1 || off < dl.len)
    return -1;
  if (dl.failed) {
    set_error (0, "%s", dl.error);
    return -1;
  }
  return 0;
}

/* Manifests */

static int
remote_manifest_ids (struct repo *repo, const char *name,
                     remote_id_vector *out)
{
  struct client *cl = client_of (repo);
  CLEANUP_FREE char *after = strdup ("");
  bool more = true;

  while (more) {
    struct strbuf req = STRBUF_INIT;
    struct conn_reply reply = { 0 };
    struct proto_reader r;
    uint32_t n;
    int ret;

    if (after == NULL) {
      set_error (ENOMEM, "list");
      return -1;
    }
    pw_str (&req, name ? name : "");
    pw_str (&req, after);
    ret = conn_call (cl->conn, OP_LIST, req.buf, req.len, NULL, 0, &reply);
    strbuf_release (&req);
    if (ret == -1)
      return -1;
    r = (struct proto_reader) { .p = reply.buf, .left = reply.len };
    n = pr_u32 (&r);
    for (uint32_t i = 0; i < n && !r.bad; i++) {
      char id[PROTO_MAX_ID + 1];
      char *copy;
      pr_str (&r, id, PROTO_MAX_ID);
      if (r.bad)
        break;
      copy = strdup (id);
      if (copy == NULL || remote_id_vector_append (out, copy) == -1) {
        free (copy);
        free (reply.buf);
        set_error (ENOMEM, "list");
        return -1;
      }
      free (after);
      after = strdup (id);
    }
    more = pr_u8 (&r);
    if (r.bad || r.left || n > PROTO_MAX_LIST || (more && n == 0)) {
      free (reply.buf);
      set_error (0, "protocol error: bad LIST answer");
      return -1;
    }
    free (reply.buf);
  }
  return 0;
}

static int
remote_manifest_get (struct repo *repo, const char *id, char **text,
                     size_t *len)
{
  struct client *cl = client_of (repo);
  struct strbuf req = STRBUF_INIT;
  struct conn_reply reply = { 0 };
  int r;

  pw_str (&req, id);
  r = conn_call (cl->conn, OP_MANIFEST_GET, req.buf, req.len, NULL, 0,
                 &reply);
  strbuf_release (&req);
  if (r == -1)
    return -1;
  if (reply.len > MANIFEST_MAX) {
    free (reply.buf);
    set_error (0, "backup %s: manifest of %zu bytes (at most %d)", id,
               reply.len, MANIFEST_MAX);
    return -1;
  }
  *text = (char *) reply.buf;
  *len = reply.len;
  return 0;
}

static int
remote_manifest_reserve (struct repo *repo, const char *name, int64_t time,
                         char **id)
{
  struct client *cl = client_of (repo);
  struct strbuf req = STRBUF_INIT;
  struct conn_reply reply = { 0 };
  struct proto_reader r;
  char got[PROTO_MAX_ID + 1];
  int ret;

  pw_str (&req, name);
  pw_u64 (&req, (uint64_t) time);
  ret = conn_call (cl->conn, OP_RESERVE, req.buf, req.len, NULL, 0, &reply);
  strbuf_release (&req);
  if (ret == -1)
    return -1;
  r = (struct proto_reader) { .p = reply.buf, .left = reply.len };
  pr_str (&r, got, PROTO_MAX_ID);
  free (reply.buf);
  if (r.bad || r.left) {
    set_error (0, "protocol error: bad RESERVE answer");
    return -1;
  }
  *id = strdup (got);
  if (*id == NULL) {
    set_error (ENOMEM, "reserve");
    return -1;
  }
  return 0;
}

static int
call_with_id (struct repo *repo, uint16_t op, const char *id)
{
  struct strbuf req = STRBUF_INIT;
  int r;

  pw_str (&req, id);
  r = conn_call (client_of (repo)->conn, op, req.buf, req.len, NULL, 0,
                 NULL);
  strbuf_release (&req);
  return r;
}

static void
remote_manifest_unreserve (struct repo *repo, const char *id)
{
  call_with_id (repo, OP_UNRESERVE, id);
}

static int
remote_manifest_delete (struct repo *repo, const char *id)
{
  if (call_with_id (repo, OP_DELETE, id) == -1) {
    error_prefix ("delete backup %s", id);
    return -1;
  }
  return 0;
}

static int
remote_manifest_commit (struct repo *repo, const char *text)
{
  return conn_call (client_of (repo)->conn, OP_COMMIT, text, strlen (text),
                    NULL, 0, NULL);
}

static void
remote_close (struct repo *repo)
{
  struct client *cl = client_of (repo);

  if (cl == NULL)
    return;
  /* After the reader thread is gone: no prefetch completes any more. */
  conn_close (cl->conn);
  for (size_t i = 0; i < PREFETCH_SLOTS; i++)
    free (cl->prefetch[i].buf);
  pthread_mutex_destroy (&cl->lock);
  pthread_cond_destroy (&cl->cond);
  free (cl);
  repo->remote_conn = NULL;
}

static const struct repo_remote_ops ops = {
  .chunk_refresh = remote_chunk_refresh,
  .chunk_put = remote_chunk_put,
  .chunk_get = remote_chunk_get,
  .chunk_prefetch = remote_chunk_prefetch,
  .finish = remote_finish,
  .session_end = remote_session_end,
  .index_put = remote_index_put,
  .index_get = remote_index_get,
  .manifest_ids = remote_manifest_ids,
  .manifest_get = remote_manifest_get,
  .manifest_reserve = remote_manifest_reserve,
  .manifest_unreserve = remote_manifest_unreserve,
  .manifest_commit = remote_manifest_commit,
  .manifest_delete = remote_manifest_delete,
  .close = remote_close,
};

/* Opening */

static struct conn *
connect_url (const char *url, struct remote_url *u)
{
  struct conn *c;

  if (remote_url_parse (url, u) == -1)
    return NULL;
  c = conn_open_ssh (u->user, u->host, u->port);
  if (c == NULL)
    error_prefix ("%s", url);
  return c;
}

static void
hello (struct strbuf *req, const char *path)
{
  strbuf_add (req, PROTO_MAGIC, 8);
  pw_u32 (req, PROTO_VERSION);
  pw_str (req, path);
}

struct repo *
remote_repo_open (const char *url)
{
  struct remote_url u = { 0 };
  struct strbuf req = STRBUF_INIT;
  struct conn_reply reply = { 0 };
  struct proto_reader r;
  struct repo *repo = NULL;
  struct client *cl = NULL;
  struct conn *c = connect_url (url, &u);
  char id[PROTO_MAX_ID + 1];

  if (c == NULL)
    goto fail;
  hello (&req, u.path);
  if (conn_call (c, OP_OPEN, req.buf, req.len, NULL, 0, &reply) == -1) {
    error_prefix ("%s", url);
    goto fail;
  }
  repo = calloc (1, sizeof *repo);
  cl = calloc (1, sizeof *cl);
  if (repo == NULL || cl == NULL || (repo->path = strdup (url)) == NULL) {
    set_error (ENOMEM, "open %s", url);
    goto fail;
  }
  r = (struct proto_reader) { .p = reply.buf, .left = reply.len };
  pr_str (&r, id, PROTO_MAX_ID);
  repo->chunk_size = pr_u32 (&r);
  cl->flags = pr_u32 (&r);
  if (r.bad || r.left || strlen (id) != 32 || repo->chunk_size < REPO_MIN_CHUNK
      || repo->chunk_size > REPO_MAX_CHUNK
      || (repo->chunk_size & (repo->chunk_size - 1))) {
    set_error (0, "%s: protocol error: bad OPEN answer", url);
    goto fail;
  }
  memcpy (repo->id, id, 33);
  repo->dirfd = -1;
  pthread_mutex_init (&cl->lock, NULL);
  pthread_cond_init (&cl->cond, NULL);
  cl->chunk_size = repo->chunk_size;
  cl->conn = c;
  repo->remote = &ops;
  repo->remote_conn = cl;
  free (reply.buf);
  strbuf_release (&req);
  remote_url_free (&u);
  return repo;

 fail:
  if (repo)
    free (repo->path);
  free (repo);
  free (cl);
  conn_close (c);
  free (reply.buf);
  strbuf_release (&req);
  remote_url_free (&u);
  return NULL;
}

int
remote_repo_init (const char *url, uint32_t chunk_size)
{
  struct remote_url u = { 0 };
  struct strbuf req = STRBUF_INIT;
  struct conn *c = connect_url (url, &u);
  int r = -1;

  if (c) {
    hello (&req, u.path);
    pw_u32 (&req, chunk_size);
    r = conn_call (c, OP_INIT, req.buf, req.len, NULL, 0, NULL);
    if (r == -1)
      error_prefix ("%s", url);
  }
  conn_close (c);
  strbuf_release (&req);
  remote_url_free (&u);
  return r;
}

bool
remote_append_only (const struct repo *repo)
{
  return repo->remote
    && (((struct client *) repo->remote_conn)->flags & PROTO_APPEND_ONLY);
}

/* Whole-repository work, run by the server */

int
remote_gc (struct repo *repo, bool dry_run, struct gc_stats *st)
{
  unsigned char req = dry_run, out[6 * 8];
  struct conn_reply reply = { .buf = out, .cap = sizeof out };

  if (conn_call (client_of (repo)->conn, OP_GC, &req, 1, NULL, 0,
                 &reply) == -1)
    return -1;
  if (reply.len != sizeof out) {
    set_error (0, "protocol error: bad GC answer");
    return -1;
  }
  st->backups = get_le64 (out);
  st->chunks_kept = get_le64 (out + 8);
  st->chunks_deleted = get_le64 (out + 16);
  st->bytes_deleted = get_le64 (out + 24);
  st->indexes_deleted = get_le64 (out + 32);
  st->tmp_deleted = get_le64 (out + 40);
  return 0;
}

int
remote_verify (struct repo *repo, char *const *ids, size_t n,
               verify_report_fn report, void *opaque,
               struct remote_verify_result *res)
{
  struct strbuf req = STRBUF_INIT;
  unsigned char out[3 * 8];
  struct conn_reply reply = { .buf = out, .cap = sizeof out,
                              .more = report, .more_opaque = opaque };
  int r;

  for (size_t i = 0; i < n; i++) {
    if (strchr (ids[i], '\n')) {
      strbuf_release (&req);
      set_error (0, "no backup %s", ids[i]);
      return -1;
    }
    strbuf_addf (&req, "%s\n", ids[i]);
  }
  r = conn_call (client_of (repo)->conn, OP_VERIFY, req.buf, req.len, NULL,
                 0, &reply);
  strbuf_release (&req);
  if (r == -1)
    return -1;
  if (reply.len != sizeof out) {
    set_error (0, "protocol error: bad VERIFY answer");
    return -1;
  }
  res->backups = get_le64 (out);
  res->chunks_read = get_le64 (out + 8);
  res->problems = get_le64 (out + 16);
  return 0;
}
