/* Writer registration and chunk prefix locks (see lock.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "local.h"
#include "lock.h"

int64_t
now_realtime_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
writer_register (struct local *L, struct writer_reg *w)
{
  CLEANUP_FREE char *tmpdir = local_path (L, "tmp");
  CLEANUP_FREE char *tmppath = NULL;
  char buf[64];

  w->path = NULL;
  /* Taken before the registration exists: every chunk this writer
   * refreshes or writes afterwards is newer than start_ns. */
  w->start_ns = now_realtime_ns ();
  w->fd = tmpfile_create (tmpdir, &tmppath);
  if (w->fd == -1)
    return -1;
  /* Locked and filled in before it becomes visible in locks/writers, so
   * gc never mistakes a starting writer for a dead one. */
  if (flock (w->fd, LOCK_EX) == -1) {
    set_error (errno, "lock %s", tmppath);
    goto fail;
  }
  snprintf (buf, sizeof buf, "%" PRId64 "\n", w->start_ns);
  if (write_full (w->fd, buf, strlen (buf), 0) == -1) {
    set_error (errno, "write %s", tmppath);
    goto fail;
  }
  if (asprintf (&w->path, "%s/locks/writers/%s", L->path,
                strrchr (tmppath, '/') + 1)
      == -1) {
    w->path = NULL;
    set_error (ENOMEM, "writer registration");
    goto fail;
  }
  if (rename (tmppath, w->path) == -1) {
    set_error (errno, "register writer in %s/locks/writers", L->path);
    goto fail;
  }
  return 0;

fail:
  close (w->fd);
  unlink (tmppath);
  free (w->path);
  w->path = NULL;
  w->fd = -1;
  return -1;
}

void
writer_unregister (struct writer_reg *w)
{
  if (w->path) {
    unlink (w->path);
    free (w->path);
    w->path = NULL;
  }
  if (w->fd >= 0)
    close (w->fd);
  w->fd = -1;
}

int
writers_oldest_start (struct local *L, int64_t *oldest_ns)
{
  CLEANUP_FREE char *dir = local_path (L, "locks/writers");
  DIR *d = opendir (dir);
  struct dirent *e;

  *oldest_ns = INT64_MAX;
  if (d == NULL) {
    set_error (errno, "open %s", dir);
    return -1;
  }
  while ((e = readdir (d)) != NULL) {
    char path[4096], buf[64] = "";
    int fd;
    ssize_t n;

    if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
      continue;
    snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
    fd = open_regular (AT_FDCWD, path, O_RDWR, 0, path);
    if (fd == -1)
      continue; /* gone meanwhile, or not a registration */
    if (flock (fd, LOCK_EX | LOCK_NB) == 0) {
      /* Nobody holds it: the writer died.  Its registration goes. */
      unlink (path);
      close (fd);
      continue;
    }
    /* A live writer: it may not have written its start time yet, in
     * which case it started just now and cannot be older than us. */
    n = pread (fd, buf, sizeof buf - 1, 0);
    close (fd);
    if (n > 0) {
      int64_t t = strtoll (buf, NULL, 10);
      if (t > 0 && t < *oldest_ns)
        *oldest_ns = t;
    }
  }
  closedir (d);
  return 0;
}

int
chunk_lock_open (struct local *L)
{
  CLEANUP_FREE char *path = local_path (L, "locks/chunks");

  if (path == NULL)
    return -1;
  /* Without the lock a writer could race gc: refuse rather than risk
   * it. */
  return open_regular (AT_FDCWD, path, O_RDWR | O_CREAT, 0600, path);
}

static int
prefix_lock_op (int lock_fd, unsigned prefix, short type, int cmd)
{
  struct flock fl = {
    .l_type = type,
    .l_whence = SEEK_SET,
    .l_start = prefix,
    .l_len = 1,
  };

  while (fcntl (lock_fd, cmd, &fl) == -1) {
    int e = errno;
    if (e == EINTR)
      continue;
    set_error (e, "lock chunk prefix %02x", prefix);
    errno = e; /* trylock tells "held" from failure */
    return -1;
  }
  return 0;
}

int
chunk_prefix_lock (int lock_fd, unsigned prefix, int exclusive)
{
  /* OFD locks, unlike classic POSIX locks, are not dropped when any
   * other fd of the same file is closed in this process. */
  return prefix_lock_op (lock_fd, prefix, exclusive ? F_WRLCK : F_RDLCK,
                         F_OFD_SETLKW);
}

int
chunk_prefix_trylock (int lock_fd, unsigned prefix, int exclusive)
{
  if (prefix_lock_op (lock_fd, prefix, exclusive ? F_WRLCK : F_RDLCK,
                      F_OFD_SETLK)
      == 0)
    return 0;
  return errno == EAGAIN || errno == EACCES ? 1 : -1;
}

void
chunk_prefix_unlock (int lock_fd, unsigned prefix)
{
  prefix_lock_op (lock_fd, prefix, F_UNLCK, F_OFD_SETLK);
}

int
gc_lock (struct local *L)
{
  CLEANUP_FREE char *path = local_path (L, "locks/gc");
  int fd = path ? open_regular (AT_FDCWD, path, O_RDWR | O_CREAT, 0600, path)
                : -1;

  if (fd == -1)
    return -1;
  if (flock (fd, LOCK_EX | LOCK_NB) == -1) {
    set_error (0, "another gc is running on this repository");
    close (fd);
    return -1;
  }
  return fd;
}
