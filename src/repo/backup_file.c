/* Configuration files into the repository (see backup_file.h).  These are
 * kilobytes to tens of megabytes: one thread, no pipeline. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "repo/repo.h"
#include "backup_file.h"

/* Feed len bytes, obtained chunk by chunk from read_fn, into an index. */
typedef int (*read_fn) (void *opaque, void *buf, size_t len, uint64_t off);

static int
store_stream (struct store *store, int level, bool public, uint64_t len,
              read_fn rd, void *opaque, struct digest *index)
{
  struct repo *repo = store->repo;
  struct index_writer w;
  struct chunk_ctx *ctx = NULL;
  CLEANUP_FREE unsigned char *buf = malloc (repo->chunk_size);
  CLEANUP_CLOSE int lock_fd = repo_worker_open (repo);
  int r = -1;

  if (lock_fd == -1)
    return -1;
  if (buf == NULL
      || (ctx = public ? chunk_ctx_for_public (repo, level)
                       : chunk_ctx_for (repo, level))
        == NULL) {
    set_error (ENOMEM, "config file buffer");
    return -1;
  }
  if (index_writer_open (&w, repo, len) == -1)
    goto out;
  for (uint64_t i = 0; i < w.hdr.chunk_count; i++) {
    uint64_t off = i * repo->chunk_size;
    size_t n = len - off < repo->chunk_size ? len - off : repo->chunk_size;
    struct digest d;

    if (rd (opaque, buf, n, off) == -1)
      goto fail;
    if (buffer_is_zero (buf, n))
      continue;
    if (chunk_id (ctx, buf, n, &d) == -1
        || store_put (store, ctx, lock_fd, &d, buf, n) == -1
        || index_writer_set (&w, i, &d) == -1)
      goto fail;
  }
  if (store_finish (store) == -1)
    goto fail;
  r = index_writer_commit (&w, index);
  goto out;
fail:
  index_writer_abort (&w);
out:
  chunk_ctx_free (ctx);
  return r;
}

struct fd_src {
  int fd;
  const char *path;
};

static int
read_fd (void *opaque, void *buf, size_t len, uint64_t off)
{
  struct fd_src *s = opaque;

  if (read_full (s->fd, buf, len, off) == -1) {
    set_error (errno, "read %s", s->path);
    return -1;
  }
  return 0;
}

static int
store_file (struct store *store, int level, bool public, const char *path,
            uint64_t *size, struct digest *index)
{
  struct fd_src src = { .path = path };
  CLEANUP_CLOSE int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;

  if (fd == -1 || fstat (fd, &st) == -1) {
    set_error (errno, "%s", path);
    return -1;
  }
  if (!S_ISREG (st.st_mode)) {
    set_error (0, "%s: not a regular file", path);
    return -1;
  }
  src.fd = fd;
  *size = st.st_size;
  return store_stream (store, level, public, st.st_size, read_fd, &src, index);
}

int
backup_file (struct store *store, int level, const char *path, uint64_t *size,
             struct digest *index)
{
  return store_file (store, level, false, path, size, index);
}

int
backup_stream_map (struct store *store, int level, const char *path,
                   uint64_t *size, struct digest *index)
{
  return store_file (store, level, true, path, size, index);
}

struct mem_src {
  const unsigned char *p;
};

static int
read_mem (void *opaque, void *buf, size_t len, uint64_t off)
{
  struct mem_src *s = opaque;

  memcpy (buf, s->p + off, len);
  return 0;
}

int
backup_buffer (struct store *store, int level, const void *buf, size_t len,
               struct digest *index)
{
  struct mem_src src = { .p = buf };

  return store_stream (store, level, false, len, read_mem, &src, index);
}
