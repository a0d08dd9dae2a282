/* Restoring configuration files (see restore_file.h). */
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "restore_file.h"

int
restore_file_buffer (struct repo *repo, const struct manifest_file *f,
                     size_t max, char **buf, size_t *len)
{
  struct index_reader ir;
  struct chunk_ctx *ctx = NULL;
  char *out = NULL;
  int r = -1;

  if (f->size > max) {
    set_error (0, "file %s: %llu bytes is more than %zu", f->role,
               (unsigned long long) f->size, max);
    return -1;
  }
  if (index_reader_open (&ir, repo, &f->index) == -1) {
    error_prefix ("file %s", f->role);
    return -1;
  }
  if (ir.hdr.disk_size != f->size) {
    set_error (0, "file %s: index size differs from manifest", f->role);
    goto out;
  }
  out = calloc (1, f->size + repo->chunk_size + 1);
  ctx = chunk_ctx_for (repo, 0);
  if (out == NULL || ctx == NULL) {
    set_error (ENOMEM, "file %s", f->role);
    goto out;
  }
  for (uint64_t i = 0; i < ir.hdr.chunk_count; i++) {
    struct digest d;
    size_t n,
      want = f->size - i * repo->chunk_size < repo->chunk_size
      ? f->size - i * repo->chunk_size
      : repo->chunk_size;

    if (index_reader_get (&ir, i, &d) == -1)
      goto out;
    if (digest_is_zero (&d))
      continue; /* calloc'd: already zero */
    if (chunk_load (repo, ctx, &d, out + i * repo->chunk_size, &n) == -1) {
      error_prefix ("file %s", f->role);
      goto out;
    }
    /* A whole chunk of another length: the index is wrong, and the file
     * would come back with the wrong bytes. */
    if (n != want) {
      set_error (0,
                 "file %s offset %" PRIu64 ": chunk has %zu bytes, the "
                 "backup's index expects %zu",
                 f->role, i * repo->chunk_size, n, want);
      goto out;
    }
  }
  out[f->size] = '\0';
  *buf = out;
  *len = f->size;
  out = NULL;
  r = 0;
out:
  free (out);
  chunk_ctx_free (ctx);
  index_reader_close (&ir);
  return r;
}

int
restore_file_path (struct repo *repo, const struct manifest_file *f,
                   const char *path, mode_t mode)
{
  CLEANUP_FREE char *buf = NULL;
  size_t len;

  /* Configuration files are small: NVRAM is a few MiB at most. */
  if (restore_file_buffer (repo, f, 256 << 20, &buf, &len) == -1)
    return -1;
  if (write_file_atomic (path, buf, len) == -1 || chmod (path, mode) == -1) {
    if (get_errno () == 0)
      set_error (errno, "%s", path);
    return -1;
  }
  return 0;
}
