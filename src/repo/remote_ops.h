/* The operations a repository reached over ssh provides in place of the
 * local directory.  store.c, chunk.c, index.c and manifest_store.c call them
 * when repo->remote is set, so backup, restore and list code is the same
 * for both; src/remote/client.c implements them over the protocol of
 * docs/vmbackup-protocol.pod.  Every function returns -1 with the error
 * set on failure. */
#ifndef VMB_REMOTE_OPS_H
#define VMB_REMOTE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "common/vector.h"
#include "digest.h"
#include "repo.h"

struct store_stats;

DEFINE_VECTOR_TYPE (remote_id_vector, char *);

struct repo_remote_ops {
  /* Is the chunk stored?  If so it is refreshed for gc (store_refresh):
   * 1 yes, 0 no. */
  int (*chunk_refresh) (struct repo *repo, const struct digest *d);
  /* Ask now whether a chunk is stored (refreshing it), for a
   * chunk_refresh that will soon follow (a hint; a few dozen are
   * kept). */
  void (*chunk_refresh_ahead) (struct repo *repo, const struct digest *d);
  /* Send an encoded chunk (chunk_encode's output).  Asynchronous: an
   * error may be reported by a later call or by finish. */
  int (*chunk_put) (struct repo *repo, const struct digest *d,
                    const unsigned char *enc, size_t len);
  /* The encoded chunk file into buf (capacity cap). */
  int (*chunk_get) (struct repo *repo, const struct digest *d,
                    unsigned char *buf, size_t cap, size_t *len);
  /* Start fetching a chunk that chunk_get will soon ask for (a hint;
   * a few are kept). */
  void (*chunk_prefetch) (struct repo *repo, const struct digest *d);
  /* Every chunk sent so far is durable and published; stats updated
   * with what the server stored. */
  int (*finish) (struct repo *repo, struct store_stats *stats);
  /* The writer session is over: the server drops unpublished chunks. */
  void (*session_end) (struct repo *repo);
  /* Upload a sealed index (len bytes of fd) named id. */
  int (*index_put) (struct repo *repo, const struct digest *id, int fd,
                    uint64_t len);
  /* Download index id into fd (empty, seekable); *len its length. */
  int (*index_get) (struct repo *repo, const struct digest *id, int fd,
                    uint64_t *len);
  /* Backup IDs ("NAME/STAMP") of one name, or of all if name is NULL. */
  int (*manifest_ids) (struct repo *repo, const char *name,
                       remote_id_vector *out);
  /* The manifest text of one backup (malloc'd, NUL-terminated). */
  int (*manifest_get) (struct repo *repo, const char *id, char **text,
                       size_t *len);
  /* Reserve an ID for a backup of name started at time (malloc'd). */
  int (*manifest_reserve) (struct repo *repo, const char *name, int64_t time,
                           char **id);
  void (*manifest_unreserve) (struct repo *repo, const char *id);
  int (*manifest_commit) (struct repo *repo, const char *text);
  int (*manifest_delete) (struct repo *repo, const char *id);
  void (*close) (struct repo *repo);
};

#endif
