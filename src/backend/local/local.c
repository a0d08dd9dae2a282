/* The local backend: creating and opening a repository directory, and
 * the table of its operations (see local.h, backend.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "local.h"

static const char *subdirs[] = { "chunks", "indexes",       "backups", "keys",
                                 "locks",  "locks/writers", "tmp" };

char *
local_path (const struct local *L, const char *fmt, ...)
{
  va_list ap;
  char *rel, *full;

  va_start (ap, fmt);
  if (vasprintf (&rel, fmt, ap) == -1)
    rel = NULL;
  va_end (ap);
  if (rel == NULL || asprintf (&full, "%s/%s", L->path, rel) == -1)
    full = NULL;
  free (rel);
  if (full == NULL)
    set_error (ENOMEM, "path in %s", L->path);
  return full;
}

void
local_chunk_relpath (const struct digest *d, char *buf, size_t len)
{
  char hex[DIGEST_HEX_LEN + 1];

  digest_to_hex (d, hex);
  snprintf (buf, len, "chunks/%02x/%s", d->b[0], hex);
}

static bool
local_handles (const char *location)
{
  return true;
}

static int
dir_is_empty (const char *path)
{
  DIR *d = opendir (path);
  struct dirent *e;
  int empty = 1;

  if (d == NULL)
    return errno == ENOENT ? 1 : -1;
  while ((e = readdir (d)) != NULL) {
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")) {
      empty = 0;
      break;
    }
  }
  closedir (d);
  return empty;
}

static int
local_init (const char *path, const struct backend_new *nc)
{
  uint32_t chunk_size = nc->chunk_size;
  CLEANUP_FREE char *config = NULL;
  char sub[4096];
  int empty;
  bool created;

  if (!backend_chunk_size_valid (chunk_size)) {
    set_error (0, "chunk size %u is not a power of two from 64 KiB to 16 MiB",
               chunk_size);
    return -1;
  }
  empty = dir_is_empty (path);
  if (empty == -1) {
    set_error (errno, "%s", path);
    return -1;
  }
  if (!empty) {
    set_error (0, "%s: directory is not empty", path);
    return -1;
  }
  created = access (path, F_OK) == -1;
  if (mkdir_if_missing (path, 0700) == -1)
    return -1;
  for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
    snprintf (sub, sizeof sub, "%s/%s", path, subdirs[i]);
    if (mkdir_if_missing (sub, 0700) == -1)
      return -1;
  }
  for (int p = 0; p < 256; p++) {
    snprintf (sub, sizeof sub, "%s/chunks/%02x", path, p);
    if (mkdir_if_missing (sub, 0700) == -1)
      return -1;
  }
  /* A name is durable only once its directory is synced: without this a
   * power cut right after init can take chunks/XX or locks/writers away
   * and every backup then fails.  The repository's own entries are synced
   * with config's. */
  if (created && fsync_parent (path) == -1)
    return -1;
  snprintf (sub, sizeof sub, "%s/chunks", path);
  if (fsync_dir (sub) == -1)
    return -1;
  snprintf (sub, sizeof sub, "%s/locks", path);
  if (fsync_dir (sub) == -1)
    return -1;
  config = backend_config_new (chunk_size, nc->encryption);
  if (config == NULL)
    return -1;
  /* The first key slot before the config: an encrypted repository is
   * never visible without a way to open it. */
  if (nc->encryption
      && local_key_store (path, nc->key_id, nc->key_text, nc->key_len) == -1)
    return -1;
  /* config is written last: a directory without it is not a repository,
   * so an interrupted init never passes for a working one. */
  snprintf (sub, sizeof sub, "%s/config", path);
  return write_file_atomic (sub, config, strlen (config));
}

static void
local_close (struct backend *be)
{
  struct local *L = local_of (be);

  if (L == NULL)
    return;
  if (L->w.active)
    local_writer_end (be);
  if (L->dirfd >= 0)
    close (L->dirfd);
  free (L->path);
  free (L);
  be->priv = NULL;
}

static int
local_open (struct backend *be, const char *path)
{
  struct local *L = calloc (1, sizeof *L);
  CLEANUP_FREE char *config = NULL, *cfgpath = NULL;
  size_t len;

  if (L == NULL || (L->path = strdup (path)) == NULL) {
    free (L);
    set_error (ENOMEM, "open %s", path);
    return -1;
  }
  L->dirfd = L->gc_fd = L->gc_lock_fd = -1;
  be->priv = L;
  cfgpath = local_path (L, "config");
  if (cfgpath == NULL)
    goto fail;
  if (access (cfgpath, F_OK) == -1) {
    set_error (0, "%s: not a vmbackup repository (run 'vmbackup init' first)",
               path);
    goto fail;
  }
  if (read_file (cfgpath, BACKEND_CONFIG_MAX, &config, &len) == -1
      || backend_config_parse (be, config) == -1)
    goto fail;
  L->dirfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (L->dirfd == -1) {
    set_error (errno, "open %s", path);
    goto fail;
  }
  return 0;

fail:
  local_close (be);
  return -1;
}

static char *
local_tmpdir (struct backend *be)
{
  return local_path (local_of (be), "tmp");
}

static int
local_worker_open (struct backend *be)
{
  return chunk_lock_open (local_of (be));
}

const struct backend_ops backend_local = {
  .name = "local",
  .handles = local_handles,
  .init = local_init,
  .open = local_open,
  .close = local_close,
  .tmpdir = local_tmpdir,
  .worker_open = local_worker_open,
  .writer_begin = local_writer_begin,
  .chunk_refresh = local_chunk_refresh,
  .chunk_put = local_chunk_put,
  .writer_flush = local_writer_flush,
  .writer_end = local_writer_end,
  .chunk_get = local_chunk_get,
  .chunk_head = local_chunk_head,
  .chunk_quarantine = local_chunk_quarantine,
  .index_put = local_index_put,
  .index_open = local_index_open,
  .manifest_reserve = local_manifest_reserve,
  .manifest_unreserve = local_manifest_unreserve,
  .manifest_reserve_id = local_manifest_reserve_id,
  .manifest_commit = local_manifest_commit,
  .manifest_get = local_manifest_get,
  .manifest_list = local_manifest_list,
  .manifest_delete = local_manifest_delete,
  .key_list = local_key_list,
  .key_get = local_key_get,
  .key_put = local_key_put,
  .key_delete = local_key_delete,
  .gc_begin = local_gc_begin,
  .gc_sweep = local_gc_sweep,
  .gc_end = local_gc_end,
};
