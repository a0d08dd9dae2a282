/* The local backend's indexes: indexes/<hex>.idx, published by rename
 * under byte 256 of the prefix lock file, which guards indexes/ against
 * gc as the chunk prefixes do for chunks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "local.h"

#define INDEX_LOCK_BYTE 256

/* Copy len bytes of fd into a new temporary file of the repository. */
static int
copy_to_tmp (struct local *L, int fd, uint64_t len, char **tmppath)
{
  CLEANUP_FREE char *dir = local_path (L, "tmp");
  unsigned char buf[65536];
  int out = dir ? tmpfile_create (dir, tmppath) : -1;

  for (uint64_t off = 0; out >= 0 && off < len;) {
    size_t n = len - off < sizeof buf ? len - off : sizeof buf;
    if (read_full (fd, buf, n, off) == -1 || write_full (out, buf, n, off)) {
      set_error (errno, "copy index");
      close (out);
      unlink (*tmppath);
      return -1;
    }
    off += n;
  }
  return out;
}

int
local_index_put (struct backend *be, const struct digest *id, int fd,
                 const char *tmppath, uint64_t len)
{
  struct local *L = local_of (be);
  char hex[DIGEST_HEX_LEN + 1];
  CLEANUP_FREE char *final = NULL, *copy = NULL;
  CLEANUP_CLOSE int lock_fd = -1;
  int r;

  if (tmppath == NULL) {
    int out = copy_to_tmp (L, fd, len, &copy);
    close (fd);
    if (out == -1)
      return -1;
    fd = out;
    tmppath = copy;
  }
  digest_to_hex (id, hex);
  final = local_path (L, "indexes/%s.idx", hex);
  lock_fd = chunk_lock_open (L);
  if (final == NULL || lock_fd == -1
      || chunk_prefix_lock (lock_fd, INDEX_LOCK_BYTE, 0) == -1) {
    close (fd);
    unlink (tmppath);
    return -1;
  }
  /* One there already has the same bytes (same digest): keep it,
   * refreshed so that gc sees it in use, as a reused chunk is. */
  if (utimensat (AT_FDCWD, final, NULL, 0) == 0) {
    close (fd);
    unlink (tmppath);
    r = 0;
  }
  else
    r = tmpfile_commit (fd, tmppath, final);
  chunk_prefix_unlock (lock_fd, INDEX_LOCK_BYTE);
  return r;
}

int
local_index_open (struct backend *be, const struct digest *id)
{
  char hex[DIGEST_HEX_LEN + 1], name[32];
  CLEANUP_FREE char *path = NULL;
  int fd;

  digest_to_hex (id, hex);
  path = local_path (local_of (be), "indexes/%s.idx", hex);
  if (path == NULL)
    return -1;
  snprintf (name, sizeof name, "index %.16s", hex);
  fd = open_regular (AT_FDCWD, path, O_RDONLY, 0, name);
  if (fd == -1 && get_errno () == ENOENT) {
    set_error (0, "%s: missing", name);
    set_error_kind (ERROR_MISSING);
  }
  return fd;
}
