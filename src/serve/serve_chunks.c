/* Server side of chunk and index requests.  Chunks go through the same
 * store as a local backup (published only after syncfs, dropped when
 * the session ends unfinished); nothing a client sends is stored before
 * it is checked, and nothing stored is ever rewritten. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/test_hooks.h"
#include "common/fsutil.h"
#include "repo/index.h"
#include "repo/repo.h"
#include "session.h"

/* Register as a writer on the first request that stores something, so
 * that gc keeps what this session adds. */
static int
begin_writing (struct session *s)
{
  if (s->writing)
    return 0;
  if (store_begin (&s->store, s->repo) == -1) {
    store_end (&s->store);
    return -1;
  }
  s->lock_fd = repo_worker_open (s->repo);
  if (s->lock_fd == -1) {
    store_end (&s->store);
    return -1;
  }
  s->writing = true;
  return 0;
}

/* The chunks this session put may not all be stored after all (END
 * drops the unpublished ones, a failed publication loses some): COMMIT
 * must read them like any other, and no backup may claim their bytes. */
static void
forget_put_chunks (struct session *s)
{
  digest_set_free (&s->full_chunks);
  s->stored_unclaimed = 0;
}

void
serve_end_writing (struct session *s)
{
  forget_put_chunks (s);
  if (!s->writing)
    return;
  store_end (&s->store);
  close (s->lock_fd);
  s->lock_fd = -1;
  s->writing = false;
}

int
serve_refresh (struct session *s, const struct proto_request *rq)
{
  if (begin_writing (s) == -1)
    return -1;
  for (uint32_t i = 0; i < rq->count; i++) {
    struct digest d;
    int r;

    memcpy (d.b, rq->data + i * DIGEST_LEN, DIGEST_LEN);
    r = store_refresh (&s->store, s->lock_fd, &d);
    if (r == -1)
      return -1;
    pw_u8 (&s->reply, r);
  }
  return 0;
}

/* The context that checks an uploaded chunk.  In an encrypted
 * repository a stream map's chunks are stored in the clear (version 1)
 * under keyed names, and nothing at upload tells them from data: both
 * versions are taken here, each checked as far as it can be, and
 * COMMIT (backup_check) holds every reference to the version its role
 * needs. */
static struct chunk_ctx *
upload_ctx (struct session *s, const struct proto_request *rq)
{
  struct chunk_header h;

  if (s->repo->encryption
      && chunk_header_parse (rq->data, rq->datalen, s->repo->chunk_size, &h)
        == 0
      && h.version == 1)
    return s->map_ctx;
  return s->ctx;
}

int
serve_put (struct session *s, const struct proto_request *rq)
{
  char hex[DIGEST_HEX_LEN + 1];
  size_t rawlen;
  bool stored;

  test_hook_serve_chunk ();
  /* chunk_encode never makes a file larger than this (it stores data
   * as is rather than grow it), and s->aligned holds no more. */
  if (rq->datalen > CHUNK_HEADER_LEN + s->repo->chunk_size
        + (s->repo->encryption ? CHUNK_SEAL_LEN : 0)) {
    set_error (0,
               "chunk of %zu bytes refused: larger than a chunk file of "
               "this repository can be",
               rq->datalen);
    return -1;
  }
  if (begin_writing (s) == -1)
    return -1;
  /* Decoded and hashed here: a client cannot put garbage, or someone
   * else's data, under a digest.  An encrypted chunk is checked as far
   * as the server can without the key: header, length, payload CRC and
   * its keyless check against the name it is put under. */
  if ((s->repo->encryption
         ? chunk_check_stored (upload_ctx (s, rq), rq->data, rq->datalen,
                               &rq->digest, s->repo->chunk_size, &rawlen)
         : chunk_decode (s->ctx, rq->data, rq->datalen, &rq->digest, s->raw,
                         s->repo->chunk_size, &rawlen))
      == -1) {
    digest_to_hex (&rq->digest, hex);
    error_prefix ("chunk %s refused", hex);
    return -1;
  }
  memcpy (s->aligned, rq->data, rq->datalen);
  if (store_put_encoded (&s->store, s->lock_fd, &rq->digest, s->aligned,
                         rq->datalen, &stored)
      == -1)
    return -1;
  if (stored) {
    s->stored_unclaimed += rq->datalen;
    /* Decoded above: COMMIT need not read its header again. */
    if (rawlen == s->repo->chunk_size && upload_ctx (s, rq) == s->ctx
        && digest_set_add (&s->full_chunks, &rq->digest, 1) == -1)
      return -1;
  }
  pw_u8 (&s->reply, stored);
  pw_u64 (&s->reply, stored ? rq->datalen : 0);
  return 0;
}

int
serve_get (struct session *s, const struct proto_request *rq)
{
  size_t len;

  if (chunk_read_file (s->repo, &rq->digest, s->filebuf,
                       CHUNK_FILE_MAX (s->repo->chunk_size), &len)
      == -1)
    return -1;
  /* Sent as stored: the client decodes and checks it. */
  s->raw_reply = s->filebuf;
  s->raw_len = len;
  return 0;
}

int
serve_finish (struct session *s)
{
  if (s->writing && store_finish (&s->store) == -1) {
    forget_put_chunks (s);
    return -1;
  }
  return 0;
}

/* Index uploads */

static struct index_upload *
find_upload (struct session *s, const struct digest *id)
{
  for (size_t i = 0; i < MAX_UPLOADS; i++)
    if (s->uploads[i].used && digest_cmp (&s->uploads[i].id, id) == 0)
      return &s->uploads[i];
  set_error (0, "protocol error: no upload of that index in progress");
  return NULL;
}

static void
drop_upload (struct index_upload *u)
{
  tmpfile_discard (&u->fd, &u->tmppath);
  u->used = false;
}

void
serve_drop_uploads (struct session *s)
{
  for (size_t i = 0; i < MAX_UPLOADS; i++)
    if (s->uploads[i].used)
      drop_upload (&s->uploads[i]);
}

int
serve_index_begin (struct session *s, const struct proto_request *rq)
{
  CLEANUP_FREE char *dir = NULL;
  struct index_upload *u = NULL;

  /* Bounded here, and filled only in order (serve_index_data): the
   * temporary file never holds more than the client sent. */
  if (rq->length > index_max_len (s->repo->chunk_size)) {
    set_error (0,
               "index of %llu bytes refused: larger than an index of "
               "this repository can be (%llu)",
               (unsigned long long) rq->length,
               (unsigned long long) index_max_len (s->repo->chunk_size));
    return -1;
  }
  if (begin_writing (s) == -1)
    return -1;
  for (size_t i = 0; i < MAX_UPLOADS; i++) {
    if (s->uploads[i].used
        && digest_cmp (&s->uploads[i].id, &rq->digest) == 0) {
      set_error (0, "protocol error: that index is already being uploaded");
      return -1;
    }
    if (!s->uploads[i].used && u == NULL)
      u = &s->uploads[i];
  }
  if (u == NULL) {
    set_error (0, "protocol error: more than %d index uploads at once",
               MAX_UPLOADS);
    return -1;
  }
  dir = repo_tmpdir (s->repo);
  if (dir == NULL)
    return -1;
  u->fd = tmpfile_create (dir, &u->tmppath);
  if (u->fd == -1)
    return -1;
  u->used = true;
  u->id = rq->digest;
  u->len = rq->length;
  u->received = 0;
  return 0;
}

int
serve_index_data (struct session *s, const struct proto_request *rq)
{
  struct index_upload *u = find_upload (s, &rq->digest);

  if (u == NULL)
    return -1;
  if (rq->offset > u->len || rq->datalen > u->len - rq->offset) {
    set_error (0, "protocol error: index data past its announced length");
    return -1;
  }
  if (rq->offset != u->received) {
    set_error (0,
               "protocol error: index data at offset %llu, expected %llu "
               "(data must come in order)",
               (unsigned long long) rq->offset,
               (unsigned long long) u->received);
    return -1;
  }
  if (write_full (u->fd, rq->data, rq->datalen, rq->offset) == -1) {
    set_error (errno, "write index");
    return -1;
  }
  u->received += rq->datalen;
  return 0;
}

int
serve_index_commit (struct session *s, const struct proto_request *rq)
{
  struct index_upload *u = find_upload (s, &rq->digest);
  struct stat st;
  int r;

  if (u == NULL)
    return -1;
  if (u->received != u->len || fstat (u->fd, &st) == -1
      || (uint64_t) st.st_size != u->len) {
    set_error (0, "index upload incomplete");
    drop_upload (u);
    return -1;
  }
  /* Checked against its name before it is published. */
  r = index_publish (s->repo, u->fd, u->tmppath, &u->id);
  u->fd = -1;
  drop_upload (u);
  return r;
}

static int
open_index (struct session *s, const struct digest *id, struct stat *st)
{
  char hex[DIGEST_HEX_LEN + 1];
  int fd = s->repo->be->ops->index_open (s->repo->be, id);

  if (fd == -1)
    return -1;
  digest_to_hex (id, hex);
  if (fstat (fd, st) == -1) {
    set_error (errno, "index %.16s", hex);
    close (fd);
    return -1;
  }
  return fd;
}

int
serve_index_size (struct session *s, const struct proto_request *rq)
{
  struct stat st;
  int fd = open_index (s, &rq->digest, &st);

  if (fd == -1)
    return -1;
  close (fd);
  pw_u64 (&s->reply, st.st_size);
  return 0;
}

int
serve_index_read (struct session *s, const struct proto_request *rq)
{
  struct stat st;
  CLEANUP_CLOSE int fd = open_index (s, &rq->digest, &st);

  if (fd == -1)
    return -1;
  if (rq->offset > (uint64_t) st.st_size
      || rq->length > (uint64_t) st.st_size - rq->offset) {
    set_error (0, "index read past its end");
    return -1;
  }
  if (read_full (fd, s->filebuf, rq->length, rq->offset) == -1) {
    set_error (errno, "read index");
    return -1;
  }
  s->raw_reply = s->filebuf;
  s->raw_len = rq->length;
  return 0;
}
