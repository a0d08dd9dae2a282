/* Remote repository: opening one over ssh, and the requests that run
 * whole on the server (see client.h; the operations behind
 * repo/remote_ops.h are in client_chunks.c and client_meta.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "ssh.h"
#include "client_private.h"
#include "remote/protocol.h"

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
  .chunk_refresh_ahead = remote_chunk_refresh_ahead,
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
