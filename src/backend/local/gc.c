/* The local backend's side of gc: the gc lock, the cutoff from the
 * writer registrations, and sweeping one directory under its prefix
 * lock (see lock.h for why this is safe beside running backups). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "local.h"

/* File timestamps come from the kernel's coarse clock, which may trail
 * clock_gettime() by a tick: keep a wide margin. */
#define SLACK_NS 2000000000LL

static int64_t
mtime_ns (const struct stat *st)
{
  return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

int
local_gc_begin (struct backend *be, backend_notice_fn notice,
                void *notice_opaque)
{
  struct local *L = local_of (be);
  int64_t start = now_realtime_ns (), oldest;

  L->gc_fd = gc_lock (L);
  if (L->gc_fd == -1)
    return -1;
  L->gc_lock_fd = chunk_lock_open (L);
  if (L->gc_lock_fd == -1) {
    set_error (errno, "%s/locks/chunks", L->path);
    goto fail;
  }
  /* Writers that started before we read the manifests may commit
   * backups we do not see: everything from their start on is kept. */
  if (writers_oldest_start (L, &oldest) == -1)
    goto fail;
  L->gc_cutoff = (oldest < start ? oldest : start) - SLACK_NS;
  return 0;
fail:
  local_gc_end (be);
  return -1;
}

void
local_gc_end (struct backend *be)
{
  struct local *L = local_of (be);

  if (L->gc_lock_fd >= 0)
    close (L->gc_lock_fd);
  if (L->gc_fd >= 0)
    close (L->gc_fd);
  L->gc_lock_fd = L->gc_fd = -1;
}

/* A backup holds a directory's lock for the moment it refreshes a
 * chunk; one that is stopped (^Z) or hung holds it until it goes on, and
 * gc must wait for it (deleting under it could lose what it reuses):
 * say so rather than wait in silence. */
static int
lock_for_sweep (int lock_fd, int lock_byte, const char *rel,
                backend_notice_fn notice, void *opaque)
{
  int r = chunk_prefix_trylock (lock_fd, lock_byte, 1);
  char msg[256];

  if (r != 1)
    return r;
  if (notice) {
    snprintf (msg, sizeof msg,
              "gc: waiting for a backup that is using %s "
              "(a stopped backup holds it until it goes on)",
              rel);
    notice (opaque, msg);
  }
  return chunk_prefix_lock (lock_fd, lock_byte, 1);
}

int
local_gc_sweep (struct backend *be, enum backend_sweep what, unsigned prefix,
                backend_keep_fn keep, void *opaque, bool dry_run,
                backend_notice_fn notice, void *notice_opaque, uint64_t *kept,
                uint64_t *deleted, uint64_t *bytes)
{
  struct local *L = local_of (be);
  char rel[16];
  const char *suffix = what == SWEEP_INDEXES ? ".idx" : NULL;
  int lock_byte = what == SWEEP_CHUNKS ? (int) prefix
    : what == SWEEP_INDEXES            ? 256
                                       : -1;
  CLEANUP_FREE char *path = NULL;
  int dfd;
  DIR *d;
  struct dirent *e;

  if (what == SWEEP_CHUNKS)
    snprintf (rel, sizeof rel, "chunks/%02x", prefix);
  else
    snprintf (rel, sizeof rel, "%s",
              what == SWEEP_INDEXES ? "indexes" : "tmp");
  if (what == SWEEP_TMP)
    keep = NULL;
  path = local_path (L, "%s", rel);
  if (path == NULL)
    return -1;
  dfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd == -1) {
    set_error (errno, "open %s", path);
    return -1;
  }
  d = fdopendir (dfd);
  if (d == NULL) {
    close (dfd);
    set_error (errno, "open %s", path);
    return -1;
  }
  if (lock_byte >= 0
      && lock_for_sweep (L->gc_lock_fd, lock_byte, rel, notice, notice_opaque)
        == -1) {
    closedir (d);
    return -1;
  }
  while ((e = readdir (d)) != NULL) {
    char hex[DIGEST_HEX_LEN + 1];
    struct digest dg;
    struct stat st;
    size_t n = strlen (e->d_name), slen = suffix ? strlen (suffix) : 0;

    if (e->d_name[0] == '.' && keep)
      continue;
    if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
      continue;
    if (keep) {
      if (n != DIGEST_HEX_LEN + slen
          || (slen && strcmp (e->d_name + DIGEST_HEX_LEN, suffix)))
        continue; /* not ours: leave it alone */
      memcpy (hex, e->d_name, DIGEST_HEX_LEN);
      hex[DIGEST_HEX_LEN] = '\0';
      if (digest_from_hex (hex, &dg) == -1)
        continue;
      if (keep (opaque, &dg)) {
        (*kept)++;
        continue;
      }
    }
    if (fstatat (dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1
        || !S_ISREG (st.st_mode) || mtime_ns (&st) >= L->gc_cutoff)
      continue;
    if (!dry_run && unlinkat (dfd, e->d_name, 0) == -1 && errno != ENOENT)
      continue;
    (*deleted)++;
    *bytes += st.st_size;
  }
  if (lock_byte >= 0)
    chunk_prefix_unlock (L->gc_lock_fd, lock_byte);
  if (!dry_run)
    fsync (dfd);
  closedir (d);
  return 0;
}
