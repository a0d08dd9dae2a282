/* Frame and request codec (see protocol.h).  Everything here parses
 * bytes from the other end of an ssh link, so every length is checked
 * before use; tests/fuzz/fuzz_protocol.c runs it on arbitrary input. */
#include <errno.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "protocol.h"

static const char *const op_names[] = {
  [OP_OPEN] = "OPEN",
  [OP_INIT] = "INIT",
  [OP_REFRESH] = "REFRESH",
  [OP_PUT] = "PUT",
  [OP_GET] = "GET",
  [OP_FINISH] = "FINISH",
  [OP_END] = "END",
  [OP_INDEX_BEGIN] = "INDEX_BEGIN",
  [OP_INDEX_DATA] = "INDEX_DATA",
  [OP_INDEX_COMMIT] = "INDEX_COMMIT",
  [OP_INDEX_SIZE] = "INDEX_SIZE",
  [OP_INDEX_READ] = "INDEX_READ",
  [OP_LIST] = "LIST",
  [OP_MANIFEST_GET] = "MANIFEST_GET",
  [OP_RESERVE] = "RESERVE",
  [OP_UNRESERVE] = "UNRESERVE",
  [OP_COMMIT] = "COMMIT",
  [OP_DELETE] = "DELETE",
  [OP_GC] = "GC",
  [OP_VERIFY] = "VERIFY",
  [OP_KEY_LIST] = "KEY_LIST",
  [OP_KEY_GET] = "KEY_GET",
  [OP_KEY_PUT] = "KEY_PUT",
  [OP_KEY_DELETE] = "KEY_DELETE",
  [OP_RESERVE_COPY] = "RESERVE_COPY",
};

const char *
proto_op_name (uint16_t op)
{
  return op >= 1 && op <= OP_MAX ? op_names[op] : "unknown";
}

void
proto_header_encode (const struct proto_frame *f, unsigned char *out)
{
  put_le32 (out, f->len);
  put_le32 (out + 4, f->id);
  out[8] = f->code & 0xff;
  out[9] = f->code >> 8;
  out[10] = out[11] = 0;
}

int
proto_header_decode (const unsigned char *in, struct proto_frame *f)
{
  f->len = get_le32 (in);
  f->id = get_le32 (in + 4);
  f->code = in[8] | (in[9] << 8);
  if (in[10] || in[11]) {
    set_error (0, "protocol error: reserved header bytes are not zero");
    return -1;
  }
  if (f->len > PROTO_MAX_PAYLOAD) {
    set_error (0, "protocol error: frame of %u bytes (at most %u)", f->len,
               (unsigned) PROTO_MAX_PAYLOAD);
    return -1;
  }
  return 0;
}

/* Reading */

static const unsigned char *
take (struct proto_reader *r, size_t n)
{
  const unsigned char *p = r->p;

  if (r->bad || n > r->left) {
    r->bad = true;
    return NULL;
  }
  r->p += n;
  r->left -= n;
  return p;
}

uint8_t
pr_u8 (struct proto_reader *r)
{
  const unsigned char *p = take (r, 1);
  return p ? p[0] : 0;
}

uint32_t
pr_u32 (struct proto_reader *r)
{
  const unsigned char *p = take (r, 4);
  return p ? get_le32 (p) : 0;
}

uint64_t
pr_u64 (struct proto_reader *r)
{
  const unsigned char *p = take (r, 8);
  return p ? get_le64 (p) : 0;
}

void
pr_digest (struct proto_reader *r, struct digest *d)
{
  const unsigned char *p = take (r, DIGEST_LEN);

  if (p)
    memcpy (d->b, p, DIGEST_LEN);
  else
    memset (d->b, 0, DIGEST_LEN);
}

void
pr_bytes (struct proto_reader *r, const unsigned char **p, size_t *len,
          size_t max)
{
  uint32_t n = pr_u32 (r);

  *p = NULL;
  *len = 0;
  if (n > max) {
    r->bad = true;
    return;
  }
  *p = take (r, n);
  if (*p)
    *len = n;
}

void
pr_str (struct proto_reader *r, char *out, size_t max)
{
  const unsigned char *p;
  size_t n;

  out[0] = '\0';
  pr_bytes (r, &p, &n, max);
  if (r->bad)
    return;
  if (memchr (p, '\0', n)) {
    r->bad = true;
    return;
  }
  memcpy (out, p, n);
  out[n] = '\0';
}

/* The rest of the payload, between min and max bytes. */
static void
pr_rest (struct proto_reader *r, const unsigned char **p, size_t *len,
         size_t min, size_t max)
{
  *len = r->left;
  *p = r->p;
  if (r->bad || r->left < min || r->left > max) {
    r->bad = true;
    *p = NULL;
    *len = 0;
    return;
  }
  r->p += r->left;
  r->left = 0;
}

/* A key slot ID: exactly PROTO_KEY_ID_LEN lower-case hex digits, so
 * that it is safe as a file name. */
static void
pr_key_id (struct proto_reader *r, char *out)
{
  pr_str (r, out, PROTO_KEY_ID_LEN);
  if (strlen (out) != PROTO_KEY_ID_LEN
      || strspn (out, "0123456789abcdef") != PROTO_KEY_ID_LEN)
    r->bad = true;
}

static void
pr_magic (struct proto_reader *r, struct proto_request *rq)
{
  const unsigned char *p = take (r, 8);

  if (p && memcmp (p, PROTO_MAGIC, 8) != 0)
    r->bad = true;
  rq->version = pr_u32 (r);
}

int
proto_request_decode (const struct proto_frame *f,
                      const unsigned char *payload, struct proto_request *rq)
{
  struct proto_reader r = { .p = payload, .left = f->len };

  memset (rq, 0, sizeof *rq);
  rq->op = f->code;
  switch (f->code) {
    case OP_OPEN:
      pr_magic (&r, rq);
      pr_str (&r, rq->path, PROTO_MAX_PATH);
      break;
    case OP_INIT:
      pr_magic (&r, rq);
      pr_str (&r, rq->path, PROTO_MAX_PATH);
      rq->chunk_size = pr_u32 (&r);
      /* An encrypted repository's INIT goes on with its cipher and
       * first key slot (a server that predates them refuses the
       * trailing bytes rather than make a repository in the clear). */
      if (r.left) {
        rq->encryption = pr_u32 (&r);
        if (rq->encryption == 0)
          r.bad = true;
        pr_key_id (&r, rq->name);
        pr_rest (&r, &rq->data, &rq->datalen, 1, PROTO_MAX_KEY);
      }
      break;
    case OP_KEY_LIST: break;
    case OP_KEY_GET:
    case OP_KEY_DELETE: pr_key_id (&r, rq->name); break;
    case OP_KEY_PUT:
      pr_key_id (&r, rq->name);
      pr_rest (&r, &rq->data, &rq->datalen, 1, PROTO_MAX_KEY);
      break;
    case OP_REFRESH:
      rq->count = pr_u32 (&r);
      if (rq->count == 0 || rq->count > PROTO_MAX_REFRESH)
        r.bad = true;
      else
        pr_rest (&r, &rq->data, &rq->datalen, rq->count * DIGEST_LEN,
                 rq->count * DIGEST_LEN);
      break;
    case OP_PUT:
      pr_digest (&r, &rq->digest);
      pr_rest (&r, &rq->data, &rq->datalen, FORMAT_CHUNK_HEADER_LEN + 1,
               FORMAT_CHUNK_FILE_MAX (FORMAT_MAX_CHUNK));
      break;
    case OP_GET:
    case OP_INDEX_COMMIT:
    case OP_INDEX_SIZE: pr_digest (&r, &rq->digest); break;
    case OP_FINISH:
    case OP_END: break;
    case OP_INDEX_BEGIN:
      pr_digest (&r, &rq->digest);
      rq->length = pr_u64 (&r);
      if (rq->length < FORMAT_INDEX_HEADER_LEN + DIGEST_LEN)
        r.bad = true;
      break;
    case OP_INDEX_DATA:
      pr_digest (&r, &rq->digest);
      rq->offset = pr_u64 (&r);
      pr_rest (&r, &rq->data, &rq->datalen, 1, PROTO_MAX_READ);
      break;
    case OP_INDEX_READ:
      pr_digest (&r, &rq->digest);
      rq->offset = pr_u64 (&r);
      rq->length = pr_u32 (&r);
      if (rq->length == 0 || rq->length > PROTO_MAX_READ)
        r.bad = true;
      break;
    case OP_LIST:
      pr_str (&r, rq->name, PROTO_MAX_ID);
      pr_str (&r, rq->after, PROTO_MAX_ID);
      break;
    case OP_MANIFEST_GET:
    case OP_UNRESERVE:
    case OP_DELETE:
    case OP_RESERVE_COPY:
      pr_str (&r, rq->name, PROTO_MAX_ID);
      if (rq->name[0] == '\0')
        r.bad = true;
      break;
    case OP_RESERVE:
      pr_str (&r, rq->name, PROTO_MAX_ID);
      rq->time = (int64_t) pr_u64 (&r);
      if (rq->name[0] == '\0')
        r.bad = true;
      break;
    case OP_COMMIT:
      pr_rest (&r, &rq->data, &rq->datalen, 1, FORMAT_MANIFEST_MAX);
      break;
    case OP_GC:
      {
        uint8_t v = pr_u8 (&r);
        if (v > 1)
          r.bad = true;
        rq->dry_run = v;
      }
      break;
    case OP_VERIFY:
      pr_rest (&r, &rq->data, &rq->datalen, 0, PROTO_MAX_READ);
      break;
    default:
      set_error (0, "protocol error: unknown request %u", f->code);
      return -1;
  }
  if (r.bad || r.left) {
    set_error (0, "protocol error: malformed %s request",
               proto_op_name (f->code));
    return -1;
  }
  return 0;
}

/* Writing */

void
pw_u8 (struct strbuf *sb, uint8_t v)
{
  strbuf_add (sb, &v, 1);
}

void
pw_u32 (struct strbuf *sb, uint32_t v)
{
  unsigned char b[4];

  put_le32 (b, v);
  strbuf_add (sb, b, 4);
}

void
pw_u64 (struct strbuf *sb, uint64_t v)
{
  unsigned char b[8];

  put_le64 (b, v);
  strbuf_add (sb, b, 8);
}

void
pw_digest (struct strbuf *sb, const struct digest *d)
{
  strbuf_add (sb, d->b, DIGEST_LEN);
}

void
pw_bytes (struct strbuf *sb, const void *p, size_t len)
{
  pw_u32 (sb, len);
  strbuf_add (sb, p, len);
}

void
pw_str (struct strbuf *sb, const char *s)
{
  pw_bytes (sb, s, strlen (s));
}
