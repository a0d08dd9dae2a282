/* Crash-safe file primitives (see fsutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"

int
write_full (int fd, const void *buf, size_t len, off_t offset)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t n = offset >= 0 ? pwrite (fd, p, len, offset) : write (fd, p, len);
    if (n == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += n;
    len -= n;
    if (offset >= 0)
      offset += n;
  }
  return 0;
}

int
read_full (int fd, void *buf, size_t len, off_t offset)
{
  char *p = buf;

  while (len > 0) {
    ssize_t n = pread (fd, p, len, offset);
    if (n == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    p += n;
    len -= n;
    offset += n;
  }
  return 0;
}

int
fsync_dir (const char *dir)
{
  CLEANUP_CLOSE int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd == -1 || fsync (fd) == -1) {
    set_error (errno, "fsync %s", dir);
    return -1;
  }
  return 0;
}

int
mkdir_if_missing (const char *path, mode_t mode)
{
  if (mkdir (path, mode) == -1 && errno != EEXIST) {
    set_error (errno, "mkdir %s", path);
    return -1;
  }
  return 0;
}

int
tmpfile_create (const char *dir, char **tmppath)
{
  char *path;
  int fd;

  if (asprintf (&path, "%s/.tmp-XXXXXX", dir) == -1) {
    set_error (errno, "asprintf");
    return -1;
  }
  fd = mkostemp (path, O_CLOEXEC);
  if (fd == -1) {
    set_error (errno, "create temporary file in %s", dir);
    free (path);
    return -1;
  }
  *tmppath = path;
  return fd;
}

int
fsync_parent (const char *path)
{
  CLEANUP_FREE char *copy = strdup (path);

  if (copy == NULL) {
    set_error (errno, "strdup");
    return -1;
  }
  return fsync_dir (dirname (copy));
}

static int
commit (int fd, const char *tmppath, const char *path, int replace)
{
  int r;

  if (fsync (fd) == -1) {
    set_error (errno, "fsync %s", tmppath);
    goto fail;
  }
  if (close (fd) == -1) {
    fd = -1;
    set_error (errno, "close %s", tmppath);
    goto fail;
  }
  fd = -1;
  if (replace)
    r = rename (tmppath, path);
  else {
    /* link() fails with EEXIST rather than replacing: an atomic
     * create-if-absent for whole files. */
    r = link (tmppath, path);
    if (r == 0)
      unlink (tmppath);
  }
  if (r == -1) {
    set_error (errno, "%s %s", replace ? "rename to" : "create", path);
    goto fail;
  }
  return fsync_parent (path);

fail:
  if (fd >= 0)
    close (fd);
  unlink (tmppath);
  return -1;
}

int
tmpfile_commit (int fd, const char *tmppath, const char *path)
{
  return commit (fd, tmppath, path, 1);
}

int
tmpfile_commit_new (int fd, const char *tmppath, const char *path)
{
  return commit (fd, tmppath, path, 0);
}

int
write_file_atomic (const char *path, const void *buf, size_t len)
{
  CLEANUP_FREE char *copy = strdup (path);
  CLEANUP_FREE char *tmppath = NULL;
  int fd;

  if (copy == NULL) {
    set_error (errno, "strdup");
    return -1;
  }
  fd = tmpfile_create (dirname (copy), &tmppath);
  if (fd == -1)
    return -1;
  if (write_full (fd, buf, len, -1) == -1) {
    set_error (errno, "write %s", path);
    close (fd);
    unlink (tmppath);
    return -1;
  }
  return tmpfile_commit (fd, tmppath, path);
}

int
open_regular (int dirfd, const char *path, int flags, mode_t mode,
              const char *name)
{
  /* Opening a FIFO for reading waits for a writer: O_NONBLOCK makes it
   * return at once, and fstat then refuses it. */
  int fd = openat (dirfd, path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
                   mode);
  struct stat st;
  int fl;

  if (fd == -1) {
    set_error (errno, "%s", name);
    return -1;
  }
  if (fstat (fd, &st) == -1 || (fl = fcntl (fd, F_GETFL)) == -1) {
    set_error (errno, "%s", name);
    close (fd);
    return -1;
  }
  if (!S_ISREG (st.st_mode)) {
    set_error (0, "%s: not a regular file", name);
    close (fd);
    return -1;
  }
  /* Meaningless for a regular file, but the fd may be handed on. */
  if (fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
    set_error (errno, "%s", name);
    close (fd);
    return -1;
  }
  return fd;
}

int
read_file (const char *path, size_t max, char **buf, size_t *len)
{
  CLEANUP_CLOSE int fd = open_regular (AT_FDCWD, path, O_RDONLY, 0, path);
  struct stat st;
  char *p;

  if (fd == -1)
    return -1;
  if (fstat (fd, &st) == -1) {
    set_error (errno, "stat %s", path);
    return -1;
  }
  if ((uint64_t) st.st_size > max) {
    set_error (0, "%s: larger than %zu bytes", path, max);
    return -1;
  }
  p = malloc (st.st_size + 1);
  if (p == NULL) {
    set_error (errno, "malloc");
    return -1;
  }
  if (read_full (fd, p, st.st_size, 0) == -1) {
    set_error (errno, "read %s", path);
    free (p);
    return -1;
  }
  p[st.st_size] = '\0';
  *buf = p;
  *len = st.st_size;
  return 0;
}

void
tmpfile_discard (int *fd, char **tmppath)
{
  if (*fd >= 0)
    close (*fd);
  if (*tmppath)
    unlink (*tmppath);
  free (*tmppath);
  *fd = -1;
  *tmppath = NULL;
}

int
fd_above_stdio (int fd)
{
  int high;

  if (fd < 0 || fd > 2)
    return fd;
  high = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  close (fd);
  return high;
}
