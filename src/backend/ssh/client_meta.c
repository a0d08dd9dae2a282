/* The ssh backend: indexes and manifests (see ssh.h).  Indexes
 * move in pieces of at most PROTO_MAX_READ, several in flight. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "client_private.h"
#include "remote/protocol.h"

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

int
remote_index_put (struct backend *be, const struct digest *id, int fd,
                  uint64_t len)
{
  struct client *cl = client_of (be);
  struct upload u = { .cl = cl };
  unsigned char hdr[DIGEST_LEN + 8];
  CLEANUP_FREE unsigned char *buf = malloc (PROTO_MAX_READ);

  if (buf == NULL) {
    set_error (errno, "malloc");
    return -1;
  }
  memcpy (hdr, id->b, DIGEST_LEN);
  put_le64 (hdr + DIGEST_LEN, len);
  if (conn_call (cl->conn, OP_INDEX_BEGIN, hdr, sizeof hdr, NULL, 0, NULL)
      == -1)
    return -1;
  __atomic_store_n (&cl->session, true, __ATOMIC_RELAXED); /* END ends it */
  for (uint64_t off = 0; off < len; off += PROTO_MAX_READ) {
    size_t n = len - off < PROTO_MAX_READ ? len - off : PROTO_MAX_READ;
    if (read_full (fd, buf, n, off) == -1) {
      set_error (errno, "read index");
      return -1;
    }
    put_le64 (hdr + DIGEST_LEN, off);
    if (conn_send (cl->conn, OP_INDEX_DATA, hdr, sizeof hdr, buf, n,
                   upload_done, &u)
        == -1) {
      /* Answers to the pieces already sent refer to u: wait them out. */
      conn_drain (cl->conn);
      return -1;
    }
  }
  /* The commit is answered after every piece. */
  if (conn_call (cl->conn, OP_INDEX_COMMIT, id->b, DIGEST_LEN, NULL, 0, NULL)
      == -1) {
    if (u.failed)
      set_error (0, "%s", u.error);
    return -1;
  }
  return 0;
}

struct download {
  int fd;
  uint64_t next; /* answers come in request order */
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
    snprintf (dl->error, sizeof dl->error,
              "protocol error: index piece "
              "of %zu bytes, expected %llu",
              len, (unsigned long long) want);
    dl->failed = true;
  }
  else if (write_full (dl->fd, p, len, dl->next) == -1) {
    snprintf (dl->error, sizeof dl->error, "write: %s", strerror (errno));
    dl->failed = true;
  }
  dl->next += len;
}

int
remote_index_get (struct backend *be, const struct digest *id, int fd,
                  uint64_t *len)
{
  struct client *cl = client_of (be);
  unsigned char size[8], req[DIGEST_LEN + 12];
  struct conn_reply reply = { .buf = size, .cap = sizeof size };
  struct download dl = { .fd = fd };
  uint64_t off;

  if (conn_call (cl->conn, OP_INDEX_SIZE, id->b, DIGEST_LEN, NULL, 0, &reply)
      == -1)
    return -1;
  if (reply.len != 8) {
    set_error (0, "protocol error: bad INDEX_SIZE answer");
    return -1;
  }
  dl.len = *len = get_le64 (size);
  memcpy (req, id->b, DIGEST_LEN);
  for (off = 0; off < dl.len; off += PROTO_MAX_READ) {
    uint32_t n = dl.len - off < PROTO_MAX_READ ? dl.len - off : PROTO_MAX_READ;
    put_le64 (req + DIGEST_LEN, off);
    put_le32 (req + DIGEST_LEN + 8, n);
    if (conn_send (cl->conn, OP_INDEX_READ, req, sizeof req, NULL, 0,
                   download_done, &dl)
        == -1)
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

int
remote_manifest_list (struct backend *be, const char *name, char ***ids,
                      size_t *nids)
{
  struct client *cl = client_of (be);
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
      char **grown = copy ? realloc (*ids, (*nids + 1) * sizeof **ids) : NULL;
      if (grown)
        *ids = grown;
      if (grown == NULL) {
        free (copy);
        free (reply.buf);
        set_error (ENOMEM, "list");
        return -1;
      }
      (*ids)[(*nids)++] = copy;
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

int
remote_manifest_get (struct backend *be, const char *id, size_t max,
                     char **text, size_t *len)
{
  struct client *cl = client_of (be);
  struct strbuf req = STRBUF_INIT;
  struct conn_reply reply = { 0 };
  int r;

  pw_str (&req, id);
  r = conn_call (cl->conn, OP_MANIFEST_GET, req.buf, req.len, NULL, 0, &reply);
  strbuf_release (&req);
  if (r == -1)
    return -1;
  if (reply.len > max) {
    free (reply.buf);
    set_error (0, "backup %s: manifest of %zu bytes (at most %zu)", id,
               reply.len, max);
    return -1;
  }
  *text = (char *) reply.buf;
  *len = reply.len;
  return 0;
}

int
remote_manifest_reserve (struct backend *be, const char *name, int64_t time,
                         char **id)
{
  struct client *cl = client_of (be);
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
call_with_id (struct backend *be, uint16_t op, const char *id)
{
  struct strbuf req = STRBUF_INIT;
  int r;

  pw_str (&req, id);
  r = conn_call (client_of (be)->conn, op, req.buf, req.len, NULL, 0, NULL);
  strbuf_release (&req);
  return r;
}

void
remote_manifest_unreserve (struct backend *be, const char *id)
{
  call_with_id (be, OP_UNRESERVE, id);
}

int
remote_manifest_reserve_id (struct backend *be, const char *id)
{
  return call_with_id (be, OP_RESERVE_COPY, id);
}

int
remote_manifest_delete (struct backend *be, const char *id)
{
  if (call_with_id (be, OP_DELETE, id) == -1) {
    error_prefix ("delete backup %s", id);
    return -1;
  }
  return 0;
}

int
remote_manifest_commit (struct backend *be, const char *text)
{
  return conn_call (client_of (be)->conn, OP_COMMIT, text, strlen (text), NULL,
                    0, NULL);
}
