/* The index cache of S3 repositories (see s3_cache.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "s3_cache.h"

static int
make_dirs (char *path)
{
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir (path, 0700) == -1 && errno != EEXIST) {
      *p = '/';
      return -1;
    }
    *p = '/';
  }
  return mkdir (path, 0700) == -1 && errno != EEXIST ? -1 : 0;
}

char *
s3_cache_dir (const char *repo_id)
{
  const char *xdg = getenv ("XDG_CACHE_HOME"), *home = getenv ("HOME");
  char *dir = NULL;
  int n;

  if (xdg && xdg[0] == '/')
    n = asprintf (&dir, "%s/vmbackup/s3/%s/indexes", xdg, repo_id);
  else if (home && home[0] == '/')
    n = asprintf (&dir, "%s/.cache/vmbackup/s3/%s/indexes", home, repo_id);
  else
    return NULL;
  if (n == -1)
    return NULL;
  if (make_dirs (dir) == -1) {
    free (dir);
    return NULL;
  }
  return dir;
}

static void
cache_path (const char *dir, const struct digest *id, char *path, size_t len)
{
  char hex[DIGEST_HEX_LEN + 1];

  digest_to_hex (id, hex);
  snprintf (path, len, "%s/%s.idx", dir, hex);
}

int
s3_cache_open (const char *dir, const struct digest *id)
{
  char path[4096];
  struct stat st;
  int fd;

  if (!dir)
    return -1;
  cache_path (dir, id, path, sizeof path);
  /* Regular files only: nothing in the cache may make us block. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd >= 0 && (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode))) {
    close (fd);
    fd = -1;
  }
  return fd;
}

void
s3_cache_store (const char *dir, const struct digest *id, const void *data,
                size_t len)
{
  char path[4096];
  char *tmp = NULL;
  int fd;

  if (!dir)
    return;
  cache_path (dir, id, path, sizeof path);
  fd = tmpfile_create (dir, &tmp);
  if (fd == -1)
    return;
  if (write_full (fd, data, len, 0) == -1 || fsync (fd) == -1
      || rename (tmp, path) == -1)
    unlink (tmp);
  close (fd);
  free (tmp);
}

void
s3_cache_forget (const char *dir, const struct digest *id)
{
  char path[4096];

  if (!dir)
    return;
  cache_path (dir, id, path, sizeof path);
  unlink (path);
}
