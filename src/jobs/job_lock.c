/* The job lock (job_lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "job_lock.h"

/* dir and its parent (/var/lib/vmbackup/jobs on a fresh host). */
static int
make_state_dir (const char *dir)
{
  char parent[4096];
  char *slash;

  snprintf (parent, sizeof parent, "%s", dir);
  slash = strrchr (parent, '/');
  if (slash && slash != parent) {
    *slash = '\0';
    if (mkdir_if_missing (parent, 0755) == -1)
      return -1;
  }
  return mkdir_if_missing (dir, 0755);
}

int
job_lock_take (const char *state_dir, const char *name)
{
  char path[4096], pid[32] = "";
  ssize_t n;
  int fd;

  if (make_state_dir (state_dir) == -1)
    return -1;
  snprintf (path, sizeof path, "%s/%s.lock", state_dir, name);
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd == -1) {
    set_error (errno, "%s", path);
    return -1;
  }
  if (flock (fd, LOCK_EX | LOCK_NB) == -1) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      n = pread (fd, pid, sizeof pid - 1, 0);
      pid[n > 0 ? n : 0] = '\0';
      pid[strcspn (pid, "\n")] = '\0';
      set_error (0,
                 "job %s is already running (pid %s); not "
                 "starting another run",
                 name, pid[0] ? pid : "unknown");
    }
    else
      set_error (err, "%s: lock", path);
    close (fd);
    errno = err;
    return -1;
  }
  n = snprintf (pid, sizeof pid, "%ld\n", (long) getpid ());
  if (ftruncate (fd, 0) == -1 || write_full (fd, pid, n, 0) == -1) {
    set_error (errno, "%s", path);
    close (fd);
    return -1;
  }
  return fd;
}

void
job_lock_release (int fd)
{
  if (fd >= 0)
    close (fd);
}
