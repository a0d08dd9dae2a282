/* State of one "vmbackup serve" session, shared by the request
 * handlers (server.c, serve_chunks.c, serve_manifests.c). */
#ifndef VMB_REMOTE_SESSION_H
#define VMB_REMOTE_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "common/vector.h"
#include "repo/chunk.h"
#include "repo/digest_set.h"
#include "repo/repo.h"
#include "repo/store.h"
#include "remote/protocol.h"
#include "server.h"

/* Index uploads a session may have open at once. */
#define MAX_UPLOADS 16

struct index_upload {
  bool used;
  struct digest id;
  uint64_t len;
  uint64_t received; /* bytes written so far, in order */
  int fd;
  char *tmppath;
};

/* A backup ID this client reserved, and the start time it gave. */
struct reservation {
  char *id;
  int64_t time;
};
DEFINE_VECTOR_TYPE (reserved_vector, struct reservation);

struct session {
  const struct serve_options *o;
  int in, out;
  struct repo *repo;
  /* The writer session: registered with the repository on the first
   * request that stores something, ended by END or the end of the
   * connection. */
  bool writing;
  struct store store;
  int lock_fd;
  struct chunk_ctx *ctx;     /* checks uploaded chunks */
  struct chunk_ctx *map_ctx; /* ...those of stream maps (in the clear) */
  unsigned char *raw;        /* decoded chunk */
  unsigned char *aligned;    /* uploaded chunk, for O_DIRECT */
  struct index_upload uploads[MAX_UPLOADS];
  reserved_vector reserved; /* backup IDs this client reserved */
  /* Bytes of chunk files this session stored that no committed
   * manifest has counted as its stored-new yet. */
  uint64_t stored_unclaimed;
  /* Chunks this session decoded and stored whose raw size is the
   * repository's chunk size: COMMIT need not read them again
   * (backup_check.h). */
  struct digest_set full_chunks;
  pthread_mutex_t out_lock; /* verify reports from worker threads */
  /* The answer being built: reply, or the bytes at raw_reply. */
  uint32_t req_id;
  struct strbuf reply;
  const void *raw_reply;
  size_t raw_len;
  unsigned char *filebuf; /* GET, INDEX_READ */
};

/* Write one frame to the client. */
int session_send (struct session *s, uint16_t status, const void *p,
                  size_t len);

/* Handlers: 0 with the answer in s->reply or s->raw_reply, or -1 with
 * the error set (sent as ST_ERROR). */
int serve_refresh (struct session *s, const struct proto_request *rq);
int serve_put (struct session *s, const struct proto_request *rq);
int serve_get (struct session *s, const struct proto_request *rq);
int serve_finish (struct session *s);
void serve_end_writing (struct session *s);
int serve_index_begin (struct session *s, const struct proto_request *rq);
int serve_index_data (struct session *s, const struct proto_request *rq);
int serve_index_commit (struct session *s, const struct proto_request *rq);
int serve_index_size (struct session *s, const struct proto_request *rq);
int serve_index_read (struct session *s, const struct proto_request *rq);
void serve_drop_uploads (struct session *s);

int serve_list (struct session *s, const struct proto_request *rq);
int serve_manifest_get (struct session *s, const struct proto_request *rq);
int serve_reserve (struct session *s, const struct proto_request *rq);
int serve_reserve_copy (struct session *s, const struct proto_request *rq);
int serve_unreserve (struct session *s, const struct proto_request *rq);
int serve_commit (struct session *s, const struct proto_request *rq);
int serve_delete (struct session *s, const struct proto_request *rq);
int serve_gc (struct session *s, const struct proto_request *rq);
int serve_verify (struct session *s, const struct proto_request *rq);
void serve_drop_reservations (struct session *s);

int serve_key_list (struct session *s, const struct proto_request *rq);
int serve_key_get (struct session *s, const struct proto_request *rq);
int serve_key_put (struct session *s, const struct proto_request *rq);
int serve_key_delete (struct session *s, const struct proto_request *rq);

#endif
