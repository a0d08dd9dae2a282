/* The local backend's manifests: backups/NAME/STAMP, and the
 * reservations backups/NAME/.reserved-STAMP that hold an ID from the
 * start of a backup (its events name it) until the manifest takes its
 * place.  Dotfiles are not backups: listing skips them, so a killed
 * backup's reservation is harmless. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "local.h"

static char *
reservation_path (struct local *L, const char *id)
{
  const char *slash = strchr (id, '/');

  if (slash == NULL)
    return local_path (L, "backups/.reserved-%s", id);
  return local_path (L, "backups/%.*s/.reserved-%s", (int) (slash - id), id,
                     slash + 1);
}

int
local_manifest_reserve (struct backend *be, const char *name, int64_t time,
                        char **id)
{
  struct local *L = local_of (be);
  CLEANUP_FREE char *dir = local_path (L, "backups/%s", name);
  char stamp[32];
  struct tm tm;
  time_t t = time;

  *id = NULL;
  if (dir == NULL)
    return -1;
  if (access (dir, F_OK) == -1) {
    CLEANUP_FREE char *parent = local_path (L, "backups");
    if (parent == NULL || mkdir_if_missing (dir, 0700) == -1
        || fsync_dir (parent) == -1)
      return -1;
  }
  gmtime_r (&t, &tm);
  strftime (stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  for (int attempt = 1; attempt < 1000; attempt++) {
    CLEANUP_FREE char *path = NULL, *resv = NULL;
    int n, fd;

    free (*id);
    if (attempt == 1)
      n = asprintf (id, "%s/%s", name, stamp);
    else
      n = asprintf (id, "%s/%s.%d", name, stamp, attempt);
    if (n == -1) {
      *id = NULL;
      set_error (ENOMEM, "manifest id");
      return -1;
    }
    path = local_path (L, "backups/%s", *id);
    resv = reservation_path (L, *id);
    if (path == NULL || resv == NULL)
      goto fail;
    if (access (path, F_OK) == 0)
      continue;
    fd = open (resv, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close (fd);
      /* A manifest may have appeared between our check and our
       * reservation (its writer reserved before we looked). */
      if (access (path, F_OK) == 0) {
        unlink (resv);
        continue;
      }
      return 0;
    }
    if (errno != EEXIST) {
      set_error (errno, "reserve backup ID in %s", dir);
      goto fail;
    }
  }
  set_error (0, "too many backups of %s in one second", name);
fail:
  free (*id);
  *id = NULL;
  return -1;
}

/* What a copy's reservation holds, which tells it from a backup's
 * (empty): a copy takes over a copy's, so that a killed copy can be run
 * again, but never a backup's, which may be running. */
#define COPY_RESERVATION "copy\n"

static int
take_over (const char *resv, const char *id)
{
  char buf[sizeof COPY_RESERVATION];
  int fd = open (resv, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read (fd, buf, sizeof buf) : -1;

  if (fd >= 0)
    close (fd);
  if (n == (ssize_t) strlen (COPY_RESERVATION)
      && memcmp (buf, COPY_RESERVATION, n) == 0)
    return 0;
  set_error (EEXIST,
             "backup ID %s is reserved by a backup that is running (or "
             "was killed: then remove %s)",
             id, resv);
  return -1;
}

/* A copied backup keeps its ID (backend.h). */
int
local_manifest_reserve_id (struct backend *be, const char *id)
{
  struct local *L = local_of (be);
  const char *slash = strchr (id, '/');
  CLEANUP_FREE char *dir = NULL, *path = NULL, *resv = NULL;
  int fd;

  /* The repository code checked the ID's form; a path is still built
   * from it here, so nothing that could leave backups/NAME/ passes. */
  if (slash == NULL || slash == id || id[0] == '.' || slash[1] == '.'
      || strchr (slash + 1, '/') || strstr (id, "..")) {
    set_error (0, "bad backup ID %s", id);
    return -1;
  }
  dir = local_path (L, "backups/%.*s", (int) (slash - id), id);
  path = local_path (L, "backups/%s", id);
  resv = reservation_path (L, id);
  if (dir == NULL || path == NULL || resv == NULL)
    return -1;
  if (access (dir, F_OK) == -1) {
    CLEANUP_FREE char *parent = local_path (L, "backups");
    if (parent == NULL || mkdir_if_missing (dir, 0700) == -1
        || fsync_dir (parent) == -1)
      return -1;
  }
  if (access (path, F_OK) == 0) {
    set_error (EEXIST, "backup %s exists", id);
    return -1;
  }
  fd = open (resv, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd == -1 && errno == EEXIST)
    return take_over (resv, id);
  if (fd == -1
      || write_full (fd, COPY_RESERVATION, strlen (COPY_RESERVATION), 0)
        == -1) {
    set_error (errno, "reserve backup ID %s", id);
    if (fd >= 0) {
      close (fd);
      unlink (resv);
    }
    return -1;
  }
  close (fd);
  return 0;
}

void
local_manifest_unreserve (struct backend *be, const char *id)
{
  CLEANUP_FREE char *resv = reservation_path (local_of (be), id);

  if (resv)
    unlink (resv);
}

int
local_manifest_commit (struct backend *be, const char *id, const char *text)
{
  struct local *L = local_of (be);
  CLEANUP_FREE char *tmpdir = local_path (L, "tmp");
  CLEANUP_FREE char *tmppath = NULL, *path = local_path (L, "backups/%s", id);
  int fd;

  if (tmpdir == NULL || path == NULL)
    return -1;
  fd = tmpfile_create (tmpdir, &tmppath);
  if (fd == -1)
    return -1;
  if (write_full (fd, text, strlen (text), 0) == -1) {
    set_error (errno, "write manifest %s", id);
    close (fd);
    unlink (tmppath);
    return -1;
  }
  if (tmpfile_commit_new (fd, tmppath, path) == -1)
    return -1;
  local_manifest_unreserve (be, id);
  return 0;
}

int
local_manifest_get (struct backend *be, const char *id, size_t max,
                    char **text, size_t *len)
{
  CLEANUP_FREE char *path = local_path (local_of (be), "backups/%s", id);

  if (path == NULL)
    return -1;
  if (read_file (path, max, text, len) == -1) {
    if (get_errno () == ENOENT)
      set_error (0, "no backup %s", id);
    return -1;
  }
  return 0;
}

static int
add_id (char ***ids, size_t *n, const char *name, const char *stamp)
{
  char **p = realloc (*ids, (*n + 1) * sizeof **ids);

  if (p == NULL)
    return -1;
  *ids = p;
  if (asprintf (&p[*n], "%s/%s", name, stamp) == -1)
    return -1;
  (*n)++;
  return 0;
}

static int
list_name (struct local *L, const char *name, char ***ids, size_t *n)
{
  CLEANUP_FREE char *dir = local_path (L, "backups/%s", name);
  DIR *d = dir ? opendir (dir) : NULL;
  struct dirent *e;
  int r = 0;

  if (d == NULL)
    return dir && errno == ENOENT
      ? 0
      : (set_error (errno, "open %s", dir ? dir : "backups"), -1);
  while (r == 0 && (e = readdir (d)) != NULL) {
    if (e->d_name[0] == '.')
      continue; /* reservations, temporary files */
    if (add_id (ids, n, name, e->d_name) == -1) {
      set_error (ENOMEM, "list backups");
      r = -1;
    }
  }
  closedir (d);
  return r;
}

int
local_manifest_list (struct backend *be, const char *name, char ***ids,
                     size_t *n)
{
  struct local *L = local_of (be);
  CLEANUP_FREE char *dir = NULL;
  DIR *d;
  struct dirent *e;
  int r = 0;

  if (name)
    return list_name (L, name, ids, n);
  dir = local_path (L, "backups");
  d = dir ? opendir (dir) : NULL;
  if (d == NULL) {
    set_error (errno, "open %s", dir ? dir : "backups");
    return -1;
  }
  while (r == 0 && (e = readdir (d)) != NULL) {
    struct stat st;
    if (e->d_name[0] == '.' || fstatat (dirfd (d), e->d_name, &st, 0) == -1
        || !S_ISDIR (st.st_mode))
      continue; /* not a backup name: not ours */
    r = list_name (L, e->d_name, ids, n);
  }
  closedir (d);
  return r;
}

int
local_manifest_delete (struct backend *be, const char *id)
{
  CLEANUP_FREE char *path = local_path (local_of (be), "backups/%s", id);
  CLEANUP_FREE char *dir = path ? strdup (path) : NULL;

  if (path == NULL)
    return -1;
  if (unlink (path) == -1) {
    set_error (errno, "delete backup %s", id);
    return -1;
  }
  if (dir == NULL || strrchr (dir, '/') == NULL)
    return 0;
  *strrchr (dir, '/') = '\0';
  return fsync_dir (dir);
}
