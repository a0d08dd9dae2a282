/* The ssh backend: opening a repository over ssh, the requests that run
 * whole on the server, and the table of operations (see ssh.h; chunks
 * are client_chunks.c, indexes and manifests client_meta.c). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/endian.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "ssh.h"
#include "client_private.h"
#include "remote/protocol.h"

static void
remote_close (struct backend *be)
{
  struct client *cl = client_of (be);

  if (cl == NULL)
    return;
  /* After the reader thread is gone: no prefetch completes any more. */
  conn_close (cl->conn);
  for (size_t i = 0; i < PREFETCH_SLOTS; i++)
    free (cl->prefetch[i].buf);
  pthread_mutex_destroy (&cl->lock);
  pthread_cond_destroy (&cl->cond);
  free (cl);
  be->priv = NULL;
}

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

static int
remote_open (struct backend *be, const char *url)
{
  struct remote_url u = { 0 };
  struct strbuf req = STRBUF_INIT;
  struct conn_reply reply = { 0 };
  struct proto_reader r;
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
  cl = calloc (1, sizeof *cl);
  if (cl == NULL) {
    set_error (ENOMEM, "open %s", url);
    goto fail;
  }
  r = (struct proto_reader) { .p = reply.buf, .left = reply.len };
  pr_str (&r, id, PROTO_MAX_ID);
  be->chunk_size = pr_u32 (&r);
  cl->flags = pr_u32 (&r);
  /* An encrypted repository's answer goes on with its cipher (an older
   * client refuses the trailing bytes rather than write plaintext). */
  if (r.left)
    be->encryption = pr_u32 (&r);
  if (r.bad || r.left || strlen (id) != 32
      || !backend_chunk_size_valid (be->chunk_size)
      || (be->encryption && !backend_encryption_name (be->encryption))) {
    set_error (0, "%s: protocol error: bad OPEN answer", url);
    goto fail;
  }
  memcpy (be->id, id, 33);
  be->append_only = cl->flags & PROTO_APPEND_ONLY;
  pthread_mutex_init (&cl->lock, NULL);
  pthread_cond_init (&cl->cond, NULL);
  cl->chunk_size = be->chunk_size;
  cl->conn = c;
  be->priv = cl;
  free (reply.buf);
  strbuf_release (&req);
  remote_url_free (&u);
  return 0;

fail:
  free (cl);
  conn_close (c);
  free (reply.buf);
  strbuf_release (&req);
  remote_url_free (&u);
  return -1;
}

static int
remote_init (const char *url, const struct backend_new *nc)
{
  struct remote_url u = { 0 };
  struct strbuf req = STRBUF_INIT;
  struct conn *c = connect_url (url, &u);
  int r = -1;

  if (c) {
    hello (&req, u.path);
    pw_u32 (&req, nc->chunk_size);
    if (nc->encryption) {
      pw_u32 (&req, nc->encryption);
      pw_str (&req, nc->key_id);
      strbuf_add (&req, nc->key_text, nc->key_len);
    }
    r = conn_call (c, OP_INIT, req.buf, req.len, NULL, 0, NULL);
    if (r == -1)
      error_prefix ("%s", url);
  }
  conn_close (c);
  strbuf_release (&req);
  remote_url_free (&u);
  return r;
}

/* Whole-repository work, run by the server */

static int
remote_gc (struct backend *be, bool dry_run, struct gc_stats *st)
{
  unsigned char req = dry_run, out[6 * 8];
  struct conn_reply reply = { .buf = out, .cap = sizeof out };

  if (conn_call (client_of (be)->conn, OP_GC, &req, 1, NULL, 0, &reply) == -1)
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

static int
remote_verify (struct backend *be, char *const *ids, size_t n,
               backend_report_fn report, void *opaque,
               struct backend_verify_result *res)
{
  struct strbuf req = STRBUF_INIT;
  unsigned char out[3 * 8];
  struct conn_reply reply = {
    .buf = out, .cap = sizeof out, .more = report, .more_opaque = opaque
  };
  int r;

  for (size_t i = 0; i < n; i++) {
    if (strchr (ids[i], '\n')) {
      strbuf_release (&req);
      set_error (0, "no backup %s", ids[i]);
      return -1;
    }
    strbuf_addf (&req, "%s\n", ids[i]);
  }
  r = conn_call (client_of (be)->conn, OP_VERIFY, req.buf, req.len, NULL, 0,
                 &reply);
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

/* Where the client keeps temporary files: this host, not the server. */
static char *
remote_tmpdir (struct backend *be)
{
  const char *dir = getenv ("TMPDIR");

  return strdup (dir && dir[0] ? dir : "/var/tmp");
}

/* The server takes the chunk locks; a worker needs no handle of its own,
 * only something it can close. */
static int
remote_worker_open (struct backend *be)
{
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  if (fd == -1)
    set_error (errno, "open /dev/null");
  return fd;
}

/* The server opens the writer session with the first chunk or index. */
static int
remote_writer_begin (struct backend *be)
{
  return 0;
}

static int
remote_refresh (struct backend *be, int worker, const struct digest *d)
{
  return remote_chunk_refresh (be, d);
}

/* The server looks before it stores (it trusts no client), so check is
 * implied; what it stored is counted on its side (writer_flush). */
static int
remote_put (struct backend *be, int worker, const struct digest *d,
            const unsigned char *enc, size_t len, bool check, bool *stored)
{
  *stored = true;
  return remote_chunk_put (be, d, enc, len);
}

static int
remote_index_put_file (struct backend *be, const struct digest *id, int fd,
                       const char *tmppath, uint64_t len)
{
  int r = remote_index_put (be, id, fd, len);

  close (fd);
  if (tmppath)
    unlink (tmppath);
  return r;
}

/* Fetched whole into an unlinked file here: then it is read and checked
 * exactly as a local index is. */
static int
remote_index_open (struct backend *be, const struct digest *id)
{
  CLEANUP_FREE char *dir = remote_tmpdir (be);
  char hex[DIGEST_HEX_LEN + 1];
  uint64_t len;
  int fd;

  digest_to_hex (id, hex);
  fd = dir ? open (dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600) : -1;
  if (fd == -1) {
    if (dir)
      set_error (errno, "index %.16s: temporary file in %s", hex, dir);
    else
      set_error (ENOMEM, "temporary directory");
    return -1;
  }
  if (remote_index_get (be, id, fd, &len) == -1) {
    error_prefix ("index %.16s", hex);
    close (fd);
    return -1;
  }
  return fd;
}

/* The server reads the ID from the manifest text. */
static int
remote_commit (struct backend *be, const char *id, const char *text)
{
  return remote_manifest_commit (be, text);
}

const struct backend_ops backend_ssh = {
  .name = "ssh",
  .handles = remote_is_url,
  .init = remote_init,
  .open = remote_open,
  .close = remote_close,
  .tmpdir = remote_tmpdir,
  .worker_open = remote_worker_open,
  .writer_begin = remote_writer_begin,
  .chunk_refresh = remote_refresh,
  .chunk_refresh_ahead = remote_chunk_refresh_ahead,
  .chunk_put = remote_put,
  .writer_flush = remote_finish,
  .writer_end = remote_session_end,
  .chunk_get = remote_chunk_get,
  .chunk_prefetch = remote_chunk_prefetch,
  .index_put = remote_index_put_file,
  .index_open = remote_index_open,
  .manifest_reserve = remote_manifest_reserve,
  .manifest_unreserve = remote_manifest_unreserve,
  .manifest_reserve_id = remote_manifest_reserve_id,
  .manifest_commit = remote_commit,
  .manifest_get = remote_manifest_get,
  .manifest_list = remote_manifest_list,
  .manifest_delete = remote_manifest_delete,
  .key_list = remote_key_list,
  .key_get = remote_key_get,
  .key_put = remote_key_put,
  .key_delete = remote_key_delete,
  .gc_offload = remote_gc,
  .verify_offload = remote_verify,
};
