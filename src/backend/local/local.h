/* The local backend: a repository in a directory (the layout of
 * docs/repository-format.pod).  What its files share. */
#ifndef VMB_BACKEND_LOCAL_H
#define VMB_BACKEND_LOCAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdint.h>

#include "backend/backend.h"
#include "lock.h"

extern const struct backend_ops backend_local;

struct pending_chunk;

struct pending_batch {
  struct pending_chunk *items;
  size_t n;
};

#define LOCAL_QUEUE 2

/* A writer session (writer.c).  New chunks go to tmp/ and are published
 * (renamed into chunks/XX/) after a syncfs(), in batches: a chunk name
 * never points at data a crash could lose, yet we pay one sync per batch
 * rather than one fsync per chunk. */
struct local_writer {
  bool active;
  struct writer_reg reg;
  int lock_fd; /* the publisher's (workers use their own) */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct pending_chunk *pending;
  size_t npending;
  uint64_t pending_bytes;
  /* Full batches wait here for the publisher thread, which syncs and
   * renames them while the workers go on compressing. */
  pthread_t publisher;
  bool publisher_started;
  struct pending_batch queue[LOCAL_QUEUE];
  size_t queued;
  bool publishing, stopping;
  bool failed;
  char error[1024];
};

struct local {
  char *path;
  int dirfd;
  struct local_writer w;
  /* gc (gc.c) */
  int gc_fd, gc_lock_fd;
  int64_t gc_cutoff;
};

static inline struct local *
local_of (struct backend *be)
{
  return be->priv;
}

/* malloc'd "<repo>/<relative>", NULL (error set) on failure. */
char *local_path (const struct local *L, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* "chunks/XX/<hex>" into buf. */
void local_chunk_relpath (const struct digest *d, char *buf, size_t len);

/* writer.c */
int local_writer_begin (struct backend *be);
int local_chunk_refresh (struct backend *be, int worker,
                         const struct digest *d);
int local_chunk_put (struct backend *be, int worker, const struct digest *d,
                     const unsigned char *enc, size_t len, bool check,
                     bool *stored);
int local_writer_flush (struct backend *be, struct backend_stats *stats);
void local_writer_end (struct backend *be);

/* chunks.c */
/* Open chunk d as a regular file (a FIFO in its place must not hang
 * anyone), naming it "chunk XX/HEX" in name, with its stat: the fd, or
 * -1 with the error classified (missing or not). */
int local_chunk_open (struct local *L, const struct digest *d, char *name,
                      size_t namelen, struct stat *st);
int local_chunk_get (struct backend *be, const struct digest *d,
                     unsigned char *buf, size_t cap, size_t *len);
int local_chunk_head (struct backend *be, const struct digest *d,
                      unsigned char *hdr, size_t hdrlen, uint64_t *filelen);
int local_chunk_quarantine (struct backend *be, const struct digest *d);
int local_chunk_exists_refresh (struct local *L, int lock_fd,
                                const struct digest *d);

/* index.c */
int local_index_put (struct backend *be, const struct digest *id, int fd,
                     const char *tmppath, uint64_t len);
int local_index_open (struct backend *be, const struct digest *id);

/* manifests.c */
int local_manifest_reserve (struct backend *be, const char *name, int64_t time,
                            char **id);
void local_manifest_unreserve (struct backend *be, const char *id);
int local_manifest_reserve_id (struct backend *be, const char *id);
int local_manifest_commit (struct backend *be, const char *id,
                           const char *text);
int local_manifest_get (struct backend *be, const char *id, size_t max,
                        char **text, size_t *len);
int local_manifest_list (struct backend *be, const char *name, char ***ids,
                         size_t *n);
int local_manifest_delete (struct backend *be, const char *id);

/* keys.c */
int local_key_list (struct backend *be, char (*ids)[BACKEND_KEY_ID_LEN + 1],
                    size_t max, size_t *n);
int local_key_get (struct backend *be, const char *id, char **text,
                   size_t *len);
int local_key_put (struct backend *be, const char *id, const char *text,
                   size_t len);
int local_key_delete (struct backend *be, const char *id);
/* Store slot id in the repository directory repo (init, key_put). */
int local_key_store (const char *repo, const char *id, const char *text,
                     size_t len);

/* gc.c */
int local_gc_begin (struct backend *be, backend_notice_fn notice,
                    void *notice_opaque);
int local_gc_sweep (struct backend *be, enum backend_sweep what,
                    unsigned prefix, backend_keep_fn keep, void *opaque,
                    bool dry_run, backend_notice_fn notice,
                    void *notice_opaque, uint64_t *kept, uint64_t *deleted,
                    uint64_t *bytes);
void local_gc_end (struct backend *be);

#endif
