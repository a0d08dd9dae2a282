/* What the client's files share (client.c, client_chunks.c,
 * client_meta.c): the connection and its per-repository state. */
#ifndef VMB_REMOTE_CLIENT_PRIVATE_H
#define VMB_REMOTE_CLIENT_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "conn.h"

/* Chunks fetched ahead (chunk_prefetch), waiting for their chunk_get.
 * Bounded: a hint that finds every slot busy is dropped, and a fetched
 * chunk nobody asked for is the first to make room. */
#define PREFETCH_SLOTS 8

struct prefetch {
  bool used, done, failed;
  uint64_t seq; /* age, for eviction */
  struct digest d;
  unsigned char *buf;
  size_t len;
  struct client *cl;
};

/* Answers of REFRESH requests sent ahead (chunk_refresh_ahead), waiting
 * for their chunk_refresh; bounded as the prefetches are. */
#define REFRESH_SLOTS 64

struct refresh_ahead {
  bool used, done, failed, present;
  uint64_t seq;
  struct digest d;
  struct client *cl;
};

struct client {
  struct conn *conn;
  uint32_t flags;
  uint32_t chunk_size;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* a prefetch arrived */
  struct prefetch prefetch[PREFETCH_SLOTS];
  uint64_t prefetch_seq;
  struct refresh_ahead refresh[REFRESH_SLOTS];
  uint64_t refresh_seq;
  bool session; /* the server holds a writer session */
  bool failed;  /* an asynchronous upload failed */
  char error[1024];
  uint64_t new_chunks, new_bytes;
};

static inline struct client *
client_of (struct backend *be)
{
  return be->priv;
}

/* client_chunks.c */
int remote_chunk_refresh (struct backend *be, const struct digest *d);
void remote_chunk_refresh_ahead (struct backend *be, const struct digest *d);
int remote_chunk_put (struct backend *be, const struct digest *d,
                      const unsigned char *enc, size_t len);
int remote_chunk_get (struct backend *be, const struct digest *d,
                      unsigned char *buf, size_t cap, size_t *len);
void remote_chunk_prefetch (struct backend *be, const struct digest *d);
int remote_finish (struct backend *be, struct backend_stats *stats);
void remote_session_end (struct backend *be);

/* client_meta.c */
int remote_index_put (struct backend *be, const struct digest *id, int fd,
                      uint64_t len);
int remote_index_get (struct backend *be, const struct digest *id, int fd,
                      uint64_t *len);
int remote_manifest_list (struct backend *be, const char *name, char ***ids,
                          size_t *n);
int remote_manifest_get (struct backend *be, const char *id, size_t max,
                         char **text, size_t *len);
int remote_manifest_reserve (struct backend *be, const char *name,
                             int64_t time, char **id);
void remote_manifest_unreserve (struct backend *be, const char *id);
int remote_manifest_reserve_id (struct backend *be, const char *id);
int remote_manifest_commit (struct backend *be, const char *text);
int remote_manifest_delete (struct backend *be, const char *id);

/* client_keys.c */
int remote_key_list (struct backend *be, char (*ids)[BACKEND_KEY_ID_LEN + 1],
                     size_t max, size_t *n);
int remote_key_get (struct backend *be, const char *id, char **text,
                    size_t *len);
int remote_key_put (struct backend *be, const char *id, const char *text,
                    size_t len);
int remote_key_delete (struct backend *be, const char *id);

#endif
