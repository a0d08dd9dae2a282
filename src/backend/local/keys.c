/* The local backend's key slots: keys/<id>, one file per slot, created
 * with link() from a synced temporary file (so it appears whole or not
 * at all, and never replaces one), never rewritten.  The repository
 * code reads and checks their contents (repo/keyring.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "local.h"

/* Only names that can be slot IDs are slots: temporary files and
 * anything else someone left in keys/ are not read. */
static bool
is_key_id (const char *name)
{
  if (strlen (name) != BACKEND_KEY_ID_LEN)
    return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

static int
check_id (const char *id)
{
  if (!is_key_id (id)) {
    set_error (0, "invalid key slot ID '%.20s'", id);
    return -1;
  }
  return 0;
}

int
local_key_store (const char *repo, const char *id, const char *text,
                 size_t len)
{
  CLEANUP_FREE char *dir = NULL, *tmpdir = NULL, *path = NULL;
  CLEANUP_FREE char *tmppath = NULL;
  int fd;

  if (check_id (id) == -1)
    return -1;
  if (asprintf (&dir, "%s/keys", repo) == -1
      || asprintf (&tmpdir, "%s/tmp", repo) == -1
      || asprintf (&path, "%s/keys/%s", repo, id) == -1) {
    set_error (ENOMEM, "key slot %s", id);
    return -1;
  }
  /* A repository made before key slots has no keys/ yet. */
  if (access (dir, F_OK) == -1
      && (mkdir_if_missing (dir, 0700) == -1 || fsync_dir (repo) == -1))
    return -1;
  fd = tmpfile_create (tmpdir, &tmppath);
  if (fd == -1)
    return -1;
  if (write_full (fd, text, len, 0) == -1) {
    set_error (errno, "write key slot %s", id);
    tmpfile_discard (&fd, &tmppath);
    return -1;
  }
  if (tmpfile_commit_new (fd, tmppath, path) == -1) {
    if (get_errno () == EEXIST)
      set_error (EEXIST, "key slot %s exists", id);
    return -1;
  }
  return 0;
}

int
local_key_list (struct backend *be, char (*ids)[BACKEND_KEY_ID_LEN + 1],
                size_t max, size_t *n)
{
  CLEANUP_FREE char *dir = local_path (local_of (be), "keys");
  DIR *d;
  struct dirent *e;
  int r = 0;

  *n = 0;
  if (dir == NULL)
    return -1;
  d = opendir (dir);
  if (d == NULL) {
    if (errno == ENOENT)
      return 0;
    set_error (errno, "open %s", dir);
    return -1;
  }
  while ((e = readdir (d)) != NULL) {
    if (!is_key_id (e->d_name))
      continue;
    if (*n == max) {
      set_error (0, "%s: more than %zu key slots", be->location, max);
      r = -1;
      break;
    }
    memcpy (ids[(*n)++], e->d_name, BACKEND_KEY_ID_LEN + 1);
  }
  closedir (d);
  return r;
}

int
local_key_get (struct backend *be, const char *id, char **text, size_t *len)
{
  CLEANUP_FREE char *path = NULL;

  if (check_id (id) == -1)
    return -1;
  path = local_path (local_of (be), "keys/%s", id);
  if (path == NULL)
    return -1;
  if (read_file (path, BACKEND_KEY_MAX, text, len) == -1) {
    if (get_errno () == ENOENT)
      set_error (0, "key slot %s: missing", id);
    return -1;
  }
  return 0;
}

int
local_key_put (struct backend *be, const char *id, const char *text,
               size_t len)
{
  if (len > BACKEND_KEY_MAX) {
    set_error (0, "key slot %s: larger than %d bytes", id, BACKEND_KEY_MAX);
    return -1;
  }
  return local_key_store (local_of (be)->path, id, text, len);
}

int
local_key_delete (struct backend *be, const char *id)
{
  CLEANUP_FREE char *path = NULL, *dir = NULL;

  if (check_id (id) == -1)
    return -1;
  path = local_path (local_of (be), "keys/%s", id);
  dir = local_path (local_of (be), "keys");
  if (path == NULL || dir == NULL)
    return -1;
  if (unlink (path) == -1) {
    set_error (errno == ENOENT ? 0 : errno, "delete key slot %s%s", id,
               errno == ENOENT ? ": no such slot" : "");
    return -1;
  }
  return fsync_dir (dir);
}
