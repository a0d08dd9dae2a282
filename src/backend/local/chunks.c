/* The local backend's chunk files: reading, refreshing for gc, and
 * quarantine (see backend.h for what each promises). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "local.h"

int
local_chunk_open (struct local *L, const struct digest *d, char *name,
                  size_t namelen, struct stat *st)
{
  char rel[128];
  int fd;

  local_chunk_relpath (d, rel, sizeof rel);
  snprintf (name, namelen, "chunk %s", rel + 10);
  fd = open_regular (L->dirfd, rel, O_RDONLY, 0, name);
  if (fd == -1) {
    /* Only a chunk that is not there is missing; one that cannot be
     * opened (permissions, I/O, not a regular file) may be whole and
     * is not verify's to move away. */
    if (get_errno () == ENOENT) {
      set_error (0, "%s: missing", name);
      set_error_kind (ERROR_MISSING);
    }
    return -1;
  }
  if (fstat (fd, st) == -1) {
    set_error (errno, "%s", name);
    close (fd);
    return -1;
  }
  return fd;
}

int
local_chunk_get (struct backend *be, const struct digest *d,
                 unsigned char *buf, size_t cap, size_t *len)
{
  char name[160];
  struct stat st;
  CLEANUP_CLOSE int fd = local_chunk_open (local_of (be), d, name, sizeof name,
                                           &st);

  if (fd == -1)
    return -1;
  if ((uint64_t) st.st_size > cap) {
    /* No chunk file is this large: its bytes are wrong. */
    set_error (0, "%s: too large (%lld bytes)", name, (long long) st.st_size);
    set_error_kind (ERROR_DAMAGED);
    return -1;
  }
  if (read_full (fd, buf, st.st_size, 0) == -1) {
    set_error (errno, "%s: read", name);
    return -1;
  }
  *len = st.st_size;
  return 0;
}

/* Does the chunk exist?  If so, refresh its mtime so a concurrent gc
 * sees it as in use (see lock.h). */
int
local_chunk_exists_refresh (struct local *L, int lock_fd,
                            const struct digest *d)
{
  char rel[128];
  int r;

  local_chunk_relpath (d, rel, sizeof rel);
  if (chunk_prefix_lock (lock_fd, d->b[0], 0) == -1)
    return -1;
  r = utimensat (L->dirfd, rel, NULL, 0);
  if (r == -1 && errno != ENOENT) {
    set_error (errno, "refresh %s", rel);
    chunk_prefix_unlock (lock_fd, d->b[0]);
    return -1;
  }
  chunk_prefix_unlock (lock_fd, d->b[0]);
  return r == 0;
}

/* The damaged file goes to quarantine/, out of chunks/ (backups would
 * otherwise keep deduplicating against it forever) but kept for
 * forensics. */
int
local_chunk_quarantine (struct backend *be, const struct digest *d)
{
  struct local *L = local_of (be);
  char rel[128], hex[DIGEST_HEX_LEN + 1], dst[128];

  local_chunk_relpath (d, rel, sizeof rel);
  digest_to_hex (d, hex);
  snprintf (dst, sizeof dst, "quarantine/%s", hex);
  mkdirat (L->dirfd, "quarantine", 0700);
  if (renameat (L->dirfd, rel, L->dirfd, dst) == -1) {
    set_error (errno, "quarantine chunk %s", hex);
    return -1;
  }
  return 0;
}
