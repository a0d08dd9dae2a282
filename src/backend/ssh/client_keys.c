/* The ssh backend: key slots (see ssh.h), one request each; the server
 * checks what it stores, and an append-only server refuses KEY_PUT and
 * KEY_DELETE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "client_private.h"
#include "remote/protocol.h"

_Static_assert(PROTO_KEY_ID_LEN == BACKEND_KEY_ID_LEN, "slot ID length");
_Static_assert(PROTO_MAX_KEY == BACKEND_KEY_MAX, "slot size");
_Static_assert(PROTO_MAX_KEYS == BACKEND_MAX_KEY_SLOTS, "slot count");

int
remote_key_list (struct backend *be, char (*ids)[BACKEND_KEY_ID_LEN + 1],
                 size_t max, size_t *n)
{
  unsigned char out[4 + PROTO_MAX_KEYS * (4 + PROTO_KEY_ID_LEN)];
  struct conn_reply reply = { .buf = out, .cap = sizeof out };
  struct proto_reader r;
  uint32_t count;

  *n = 0;
  /* The server refused to open a repository whose config says "in the
   * clear" beside key slots (repo_open does that check on its side), so
   * one in the clear has none; asking would also break talking to a
   * server older than key slots. */
  if (be->encryption == 0)
    return 0;
  if (conn_call (client_of (be)->conn, OP_KEY_LIST, NULL, 0, NULL, 0, &reply)
      == -1)
    return -1;
  r = (struct proto_reader) { .p = reply.buf, .left = reply.len };
  count = pr_u32 (&r);
  if (count > max) {
    set_error (0, "%s: more than %zu key slots", be->location, max);
    *n = max;
    return -1;
  }
  for (uint32_t i = 0; i < count && !r.bad; i++) {
    pr_str (&r, ids[i], BACKEND_KEY_ID_LEN);
    if (strlen (ids[i]) != BACKEND_KEY_ID_LEN)
      r.bad = true;
  }
  if (r.bad || r.left) {
    set_error (0, "protocol error: bad KEY_LIST answer");
    return -1;
  }
  *n = count;
  return 0;
}

static void
id_request (struct strbuf *req, const char *id)
{
  pw_str (req, id);
}

int
remote_key_get (struct backend *be, const char *id, char **text, size_t *len)
{
  struct strbuf req = STRBUF_INIT;
  char *buf = malloc (PROTO_MAX_KEY + 1);
  struct conn_reply reply = { .buf = (unsigned char *) buf,
                              .cap = PROTO_MAX_KEY };
  int r;

  if (buf == NULL) {
    set_error (ENOMEM, "key slot %s", id);
    return -1;
  }
  id_request (&req, id);
  r = conn_call (client_of (be)->conn, OP_KEY_GET, req.buf, req.len, NULL, 0,
                 &reply);
  strbuf_release (&req);
  if (r == -1) {
    free (buf);
    return -1;
  }
  buf[reply.len] = '\0';
  *text = buf;
  *len = reply.len;
  return 0;
}

int
remote_key_put (struct backend *be, const char *id, const char *text,
                size_t len)
{
  struct strbuf req = STRBUF_INIT;
  int r;

  id_request (&req, id);
  r = conn_call (client_of (be)->conn, OP_KEY_PUT, req.buf, req.len, text, len,
                 NULL);
  strbuf_release (&req);
  return r;
}

int
remote_key_delete (struct backend *be, const char *id)
{
  struct strbuf req = STRBUF_INIT;
  int r;

  id_request (&req, id);
  r = conn_call (client_of (be)->conn, OP_KEY_DELETE, req.buf, req.len, NULL,
                 0, NULL);
  strbuf_release (&req);
  return r;
}
