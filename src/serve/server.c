/* "vmbackup serve": the request loop, opening the repository within the
 * allowed paths, and the end of a session (see server.h). */
#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <poll.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "session.h"

int
session_send (struct session *s, uint16_t status, const void *p, size_t len)
{
  unsigned char hdr[PROTO_HEADER_LEN];
  struct proto_frame f = { .len = len, .id = s->req_id, .code = status };
  struct iovec iov[2] = { { hdr, sizeof hdr }, { (void *) p, len } };
  int n = 2;
  SCOPED_LOCK (&s->out_lock);

  proto_header_encode (&f, hdr);
  while (n > 0) {
    ssize_t w = writev (s->out, iov + 2 - n, n);
    if (w == -1 && errno == EINTR)
      continue;
    if (w == -1) {
      set_error (errno, "write to the client");
      return -1;
    }
    while (n > 0 && (size_t) w >= iov[2 - n].iov_len) {
      w -= iov[2 - n].iov_len;
      n--;
    }
    if (n > 0) {
      iov[2 - n].iov_base = (char *) iov[2 - n].iov_base + w;
      iov[2 - n].iov_len -= w;
    }
  }
  return 0;
}

/* Wait until fd is readable, at most idle seconds (0: for ever).  A
 * client that goes quiet keeps its writer registration, which holds
 * back gc: after idle seconds the session ends as if it had hung up. */
static int
wait_readable (int fd, unsigned idle)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  int r;

  if (idle == 0)
    return 0;
  do
    r = poll (&pfd, 1, idle > INT_MAX / 1000 ? INT_MAX : (int) idle * 1000);
  while (r == -1 && errno == EINTR);
  if (r == -1) {
    set_error (errno, "wait for the client");
    return -1;
  }
  if (r == 0) {
    set_error (0, "nothing from the client for %u seconds: session ended",
               idle);
    return -1;
  }
  return 0;
}

/* 1 read, 0 end of input before the first byte, -1 error (set). */
static int
read_frame_part (int fd, void *buf, size_t len, bool at_start, unsigned idle)
{
  unsigned char *p = buf;
  size_t done = 0;

  while (done < len) {
    ssize_t n;

    if (wait_readable (fd, idle) == -1)
      return -1;
    n = read (fd, p + done, len - done);
    if (n == -1 && errno == EINTR)
      continue;
    if (n == -1) {
      set_error (errno, "read from the client");
      return -1;
    }
    if (n == 0) {
      if (done == 0 && at_start)
        return 0;
      set_error (0, "client closed the connection in the middle of a frame");
      return -1;
    }
    done += n;
  }
  return 1;
}

/* Is path (resolved) at or under one of the allowed directories?  A
 * repository that does not exist yet (INIT) is judged by its parent. */
static char *
allowed_path (const struct serve_options *o, const char *path,
              bool may_be_missing)
{
  char resolved[PATH_MAX];
  CLEANUP_FREE char *copy = NULL;

  if (path[0] != '/') {
    set_error (0, "repository path %s is not absolute", path);
    return NULL;
  }
  if (realpath (path, resolved) == NULL) {
    char parent[PATH_MAX];
    const char *base;

    if (errno != ENOENT || !may_be_missing) {
      set_error (errno == ENOENT ? 0 : errno, "%s%s", path,
                 errno == ENOENT ? ": no such repository" : "");
      return NULL;
    }
    copy = strdup (path);
    if (copy == NULL) {
      set_error (ENOMEM, "path");
      return NULL;
    }
    base = strrchr (copy, '/') + 1;
    if (base[0] == '\0' || strcmp (base, ".") == 0
        || strcmp (base, "..") == 0) {
      set_error (0, "%s: not a usable repository path", path);
      return NULL;
    }
    copy[base - copy - 1] = '\0';
    if (realpath (copy[0] ? copy : "/", parent) == NULL) {
      set_error (errno, "%s", path);
      return NULL;
    }
    if (snprintf (resolved, sizeof resolved, "%s/%s",
                  strcmp (parent, "/") ? parent : "", base)
        >= (int) sizeof resolved) {
      set_error (ENAMETOOLONG, "%s", path);
      return NULL;
    }
  }
  for (size_t i = 0; i < o->nrestrict; i++) {
    const char *dir = o->restrict_paths[i];
    size_t n = strlen (dir);
    if (strcmp (dir, "/") == 0
        || (strncmp (resolved, dir, n) == 0
            && (resolved[n] == '\0' || resolved[n] == '/')))
      return strdup (resolved);
  }
  if (o->nrestrict == 0 && o->nrepos == 0)
    return strdup (resolved);
  set_error (0, "repository %s is outside the paths this server allows", path);
  return NULL;
}

#define S3_SCHEME "s3://"

char *
serve_s3_canonical (const char *url)
{
  const char *p = url + strlen (S3_SCHEME), *seg;
  size_t n;
  struct strbuf out = STRBUF_INIT;

  if (strncmp (url, S3_SCHEME, strlen (S3_SCHEME)) != 0
      || (n = strcspn (p, "/")) == 0)
    goto bad;
  strbuf_addstr (&out, S3_SCHEME);
  strbuf_add (&out, p, n);
  /* Then each prefix segment: the S3 backend drops repeated slashes,
   * so "s3://b//p/" names what "s3://b/p" names. */
  for (seg = p + n;; seg += n) {
    while (*seg == '/')
      seg++;
    if (*seg == '\0')
      break;
    n = strcspn (seg, "/");
    if ((n == 1 && seg[0] == '.') || (n == 2 && strncmp (seg, "..", 2) == 0))
      goto bad;
    strbuf_add (&out, "/", 1);
    strbuf_add (&out, seg, n);
  }
  return strbuf_detach (&out);

bad:
  strbuf_release (&out);
  set_error (0, "%s: not a usable s3://BUCKET/PREFIX repository URL", url);
  return NULL;
}

/* Is the S3 repository url at or under one of the allowed ones?  The
 * canonical URL, malloc'd, or NULL with the error set. */
static char *
allowed_s3 (const struct serve_options *o, const char *url)
{
  char *canon = serve_s3_canonical (url);

  if (canon == NULL)
    return NULL;
  if (o->nrestrict == 0 && o->nrepos == 0)
    return canon;
  for (size_t i = 0; i < o->nrepos; i++) {
    const char *allowed = o->restrict_repos[i];
    size_t n = strlen (allowed);
    if (strncmp (canon, allowed, n) == 0
        && (canon[n] == '\0' || canon[n] == '/'))
      return canon;
  }
  free (canon);
  set_error (0, "repository %s is outside the repositories this server allows",
             url);
  return NULL;
}

/* The repository a client names: a path on this host, or an S3
 * repository this host reaches ("ssh://HOST/s3://BUCKET/PREFIX" sends
 * "/s3://BUCKET/PREFIX"). */
static char *
allowed_repo (const struct serve_options *o, const char *path,
              bool may_be_missing)
{
  if (strncmp (path, "/" S3_SCHEME, strlen (S3_SCHEME) + 1) == 0)
    return allowed_s3 (o, path + 1);
  if (strncmp (path, S3_SCHEME, strlen (S3_SCHEME)) == 0)
    return allowed_s3 (o, path);
  return allowed_path (o, path, may_be_missing);
}

bool
serve_name_allowed (const struct serve_options *o, const char *name)
{
  if (o->nnames == 0)
    return true;
  for (size_t i = 0; i < o->nnames; i++)
    if (fnmatch (o->restrict_names[i], name, 0) == 0)
      return true;
  return false;
}

static int
check_version (const struct proto_request *rq)
{
  if (rq->version != PROTO_VERSION) {
    set_error (0,
               "protocol version %u is not supported (this server "
               "speaks version %d)",
               rq->version, PROTO_VERSION);
    return -1;
  }
  return 0;
}

static int
serve_open (struct session *s, const struct proto_request *rq)
{
  CLEANUP_FREE char *path = NULL;

  if (check_version (rq) == -1
      || (path = allowed_repo (s->o, rq->path, false)) == NULL
      || (s->repo = repo_open (path)) == NULL)
    return -1;
  s->raw = malloc (s->repo->chunk_size);
  s->ctx = chunk_ctx_for (s->repo, 0);
  s->map_ctx = chunk_ctx_for_public (s->repo, 0);
  s->filebuf = malloc (CHUNK_FILE_MAX (s->repo->chunk_size) > PROTO_MAX_READ
                         ? CHUNK_FILE_MAX (s->repo->chunk_size)
                         : PROTO_MAX_READ);
  if (posix_memalign ((void **) &s->aligned, CHUNK_ALIGN,
                      CHUNK_FILE_MAX (s->repo->chunk_size) + CHUNK_ALIGN))
    s->aligned = NULL;
  if (s->raw == NULL || s->ctx == NULL || s->map_ctx == NULL
      || s->filebuf == NULL || s->aligned == NULL) {
    set_error (ENOMEM, "open repository");
    return -1;
  }
  pw_str (&s->reply, s->repo->id);
  pw_u32 (&s->reply, s->repo->chunk_size);
  pw_u32 (&s->reply, s->o->append_only ? PROTO_APPEND_ONLY : 0);
  if (s->repo->encryption)
    pw_u32 (&s->reply, s->repo->encryption);
  return 0;
}

static int
serve_init (struct session *s, const struct proto_request *rq)
{
  CLEANUP_FREE char *path = NULL;
  struct backend_new nc = {
    .chunk_size = rq->chunk_size,
    .encryption = rq->encryption,
    .key_id = rq->name,
    .key_text = (const char *) rq->data,
    .key_len = rq->datalen,
  };

  /* Creating a repository in an empty place destroys nothing, so an
   * append-only key may do it too (with its first key slot). */
  if (check_version (rq) == -1
      || (path = allowed_repo (s->o, rq->path, true)) == NULL)
    return -1;
  return repo_create (path, &nc);
}

static const char *
refused (const struct session *s, uint16_t op)
{
  if (!s->o->append_only)
    return NULL;
  switch (op) {
    case OP_DELETE: return "deleting backups";
    case OP_GC: return "gc";
    case OP_KEY_PUT: return "adding a key slot";
    case OP_KEY_DELETE: return "removing a key slot";
    default: return NULL;
  }
}

static int
dispatch (struct session *s, const struct proto_request *rq)
{
  const char *what;

  if (s->repo == NULL && rq->op != OP_OPEN && rq->op != OP_INIT) {
    set_error (0, "protocol error: %s before OPEN", proto_op_name (rq->op));
    return -1;
  }
  if (s->repo && (rq->op == OP_OPEN || rq->op == OP_INIT)) {
    set_error (0, "protocol error: a repository is already open");
    return -1;
  }
  if ((what = refused (s, rq->op)) != NULL) {
    set_error (0,
               "%s is refused: the repository is append-only for this "
               "key",
               what);
    return -1;
  }
  switch (rq->op) {
    case OP_OPEN: return serve_open (s, rq);
    case OP_INIT: return serve_init (s, rq);
    case OP_REFRESH: return serve_refresh (s, rq);
    case OP_PUT: return serve_put (s, rq);
    case OP_GET: return serve_get (s, rq);
    case OP_FINISH: return serve_finish (s);
    case OP_END: serve_end_writing (s); return 0;
    case OP_INDEX_BEGIN: return serve_index_begin (s, rq);
    case OP_INDEX_DATA: return serve_index_data (s, rq);
    case OP_INDEX_COMMIT: return serve_index_commit (s, rq);
    case OP_INDEX_SIZE: return serve_index_size (s, rq);
    case OP_INDEX_READ: return serve_index_read (s, rq);
    case OP_LIST: return serve_list (s, rq);
    case OP_MANIFEST_GET: return serve_manifest_get (s, rq);
    case OP_RESERVE: return serve_reserve (s, rq);
    case OP_RESERVE_COPY: return serve_reserve_copy (s, rq);
    case OP_UNRESERVE: return serve_unreserve (s, rq);
    case OP_COMMIT: return serve_commit (s, rq);
    case OP_DELETE: return serve_delete (s, rq);
    case OP_GC: return serve_gc (s, rq);
    case OP_VERIFY: return serve_verify (s, rq);
    case OP_KEY_LIST: return serve_key_list (s, rq);
    case OP_KEY_GET: return serve_key_get (s, rq);
    case OP_KEY_PUT: return serve_key_put (s, rq);
    case OP_KEY_DELETE: return serve_key_delete (s, rq);
  }
  set_error (0, "protocol error: unknown request %u", rq->op);
  return -1;
}

/* The client is gone or done: leave nothing it did not commit. */
static void
session_end (struct session *s)
{
  serve_drop_uploads (s);
  serve_end_writing (s);
  serve_drop_reservations (s);
  reserved_vector_reset (&s->reserved);
  digest_set_free (&s->full_chunks);
  repo_close (s->repo);
  chunk_ctx_free (s->ctx);
  chunk_ctx_free (s->map_ctx);
  free (s->raw);
  free (s->aligned);
  free (s->filebuf);
  strbuf_release (&s->reply);
  pthread_mutex_destroy (&s->out_lock);
}

int
serve (const struct serve_options *o, int in_fd, int out_fd)
{
  struct session s = {
    .o = o, .in = in_fd, .out = out_fd, .lock_fd = -1, .reply = STRBUF_INIT
  };
  CLEANUP_FREE unsigned char *payload = malloc (PROTO_MAX_PAYLOAD);
  CLEANUP_FREE struct proto_request *rq = malloc (sizeof *rq);
  int r = -1;

  pthread_mutex_init (&s.out_lock, NULL);
  for (size_t i = 0; i < MAX_UPLOADS; i++)
    s.uploads[i].fd = -1;
  if (payload == NULL || rq == NULL) {
    set_error (ENOMEM, "serve");
    goto out;
  }
  for (;;) {
    unsigned char hdr[PROTO_HEADER_LEN];
    struct proto_frame f;
    int rr = read_frame_part (in_fd, hdr, sizeof hdr, true, o->idle_timeout);

    if (rr == 0) {
      r = 0; /* the client hung up between requests */
      break;
    }
    /* A stream we cannot parse cannot be resynchronised: end. */
    if (rr == -1 || proto_header_decode (hdr, &f) == -1
        || (f.len
            && read_frame_part (in_fd, payload, f.len, false, o->idle_timeout)
              != 1))
      break;
    s.req_id = f.id;
    s.raw_reply = NULL;
    s.raw_len = 0;
    s.reply.len = 0;
    if (proto_request_decode (&f, payload, rq) == 0 && dispatch (&s, rq) == 0)
      rr = s.raw_reply ? session_send (&s, ST_OK, s.raw_reply, s.raw_len)
                       : session_send (&s, ST_OK, s.reply.buf, s.reply.len);
    else {
      char msg[PROTO_MAX_MESSAGE];
      snprintf (msg, sizeof msg, "%s", get_error ());
      rr = session_send (&s, ST_ERROR, msg, strlen (msg));
    }
    if (rr == -1)
      break;
  }
out:
  session_end (&s);
  return r;
}
