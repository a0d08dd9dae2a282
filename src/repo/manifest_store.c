/* Manifests in a repository: reserving a backup ID, committing,
 * listing, loading, resolving and deleting (local, or through the remote
 * operations).  The text format itself is manifest.c. */
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
#include "manifest.h"
#include "remote_ops.h"

/* backups/NAME/.reserved-<stamp>: holds an ID from the start of a backup
 * (its events name it) until the manifest takes its place.  Dotfiles are
 * not backups: listing skips them, so a killed backup's reservation is
 * harmless. */
static char *
reservation_path (struct repo *repo, const struct manifest *m)
{
  const char *stamp = strchr (m->id, '/');

  return repo_path (repo, "backups/%s/.reserved-%s", m->name,
                    stamp ? stamp + 1 : m->id);
}

int
manifest_reserve (struct repo *repo, struct manifest *m)
{
  CLEANUP_FREE char *dir = NULL;
  char stamp[32];
  struct tm tm;
  time_t t = m->time;

  if (repo->remote) {
    free (m->id);
    m->id = NULL;
    return repo->remote->manifest_reserve (repo, m->name, m->time, &m->id);
  }
  dir = repo_path (repo, "backups/%s", m->name);

  if (dir == NULL) {
    set_error (ENOMEM, "manifest path");
    return -1;
  }
  if (access (dir, F_OK) == -1) {
    CLEANUP_FREE char *parent = repo_path (repo, "backups");
    if (mkdir_if_missing (dir, 0700) == -1 || fsync_dir (parent) == -1)
      return -1;
  }
  gmtime_r (&t, &tm);
  strftime (stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  for (int attempt = 1; attempt < 1000; attempt++) {
    CLEANUP_FREE char *path = NULL, *resv = NULL;
    int n, fd;

    free (m->id);
    if (attempt == 1)
      n = asprintf (&m->id, "%s/%s", m->name, stamp);
    else
      n = asprintf (&m->id, "%s/%s.%d", m->name, stamp, attempt);
    if (n == -1) {
      m->id = NULL;
      set_error (ENOMEM, "manifest id");
      return -1;
    }
    path = repo_path (repo, "backups/%s", m->id);
    resv = reservation_path (repo, m);
    if (path == NULL || resv == NULL) {
      set_error (ENOMEM, "manifest path");
      return -1;
    }
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
      return -1;
    }
  }
  set_error (0, "too many backups of %s in one second", m->name);
  return -1;
}

void
manifest_unreserve (struct repo *repo, const struct manifest *m)
{
  CLEANUP_FREE char *resv = NULL;

  if (repo->remote) {
    if (m->id)
      repo->remote->manifest_unreserve (repo, m->id);
    return;
  }
  resv = m->id ? reservation_path (repo, m) : NULL;

  if (resv)
    unlink (resv);
}

int
manifest_commit (struct repo *repo, struct manifest *m)
{
  CLEANUP_FREE char *tmpdir = repo_path (repo, "tmp");
  CLEANUP_FREE char *text = NULL, *tmppath = NULL, *path = NULL;
  int fd;

  if (m->id == NULL && manifest_reserve (repo, m) == -1)
    return -1;
  text = manifest_serialize (m);
  if (repo->remote)
    return repo->remote->manifest_commit (repo, text);
  path = repo_path (repo, "backups/%s", m->id);
  if (tmpdir == NULL || path == NULL) {
    set_error (ENOMEM, "manifest path");
    return -1;
  }
  fd = tmpfile_create (tmpdir, &tmppath);
  if (fd == -1)
    return -1;
  if (write_full (fd, text, strlen (text), 0) == -1) {
    set_error (errno, "write manifest %s", m->id);
    close (fd);
    unlink (tmppath);
    return -1;
  }
  if (tmpfile_commit_new (fd, tmppath, path) == -1)
    return -1;
  manifest_unreserve (repo, m);
  return 0;
}

static int
cmp_manifest (const void *a, const void *b)
{
  const struct manifest *x = *(struct manifest *const *) a;
  const struct manifest *y = *(struct manifest *const *) b;

  if (x->time != y->time)
    return x->time < y->time ? -1 : 1;
  /* Same second: "NAME/STAMP.10" comes after "NAME/STAMP.9". */
  return strverscmp (x->id, y->id);
}

static int
read_manifest (struct repo *repo, const char *id, char **text, size_t *len)
{
  CLEANUP_FREE char *path = NULL;

  if (repo->remote)
    return repo->remote->manifest_get (repo, id, text, len);
  path = repo_path (repo, "backups/%s", id);
  if (read_file (path, MANIFEST_MAX, text, len) == -1) {
    if (get_errno () == ENOENT)
      set_error (0, "no backup %s", id);
    return -1;
  }
  return 0;
}

static struct manifest *
load_manifest (struct repo *repo, const char *id)
{
  CLEANUP_FREE char *text = NULL;
  struct manifest *m;
  size_t len;

  if (read_manifest (repo, id, &text, &len) == -1)
    return NULL;
  m = calloc (1, sizeof *m);
  if (m == NULL) {
    set_error (errno, "calloc");
    return NULL;
  }
  if (manifest_parse (text, len, m) == -1) {
    error_prefix ("backup %s", id);
    manifest_free (m);
    return NULL;
  }
  if (strcmp (m->id, id) != 0 || strncmp (id, m->name, strlen (m->name))
      || id[strlen (m->name)] != '/') {
    set_error (0, "backup %s: manifest claims to be %s", id, m->id);
    manifest_free (m);
    return NULL;
  }
  if (m->chunk_size != repo->chunk_size) {
    set_error (0, "backup %s: chunk size %u differs from the repository's %u",
               id, m->chunk_size, repo->chunk_size);
    manifest_free (m);
    return NULL;
  }
  return m;
}

static int
list_name (struct repo *repo, const char *name, manifest_vector *out,
           manifest_error_fn on_error, void *opaque)
{
  CLEANUP_FREE char *dir = repo_path (repo, "backups/%s", name);
  DIR *d = opendir (dir);
  struct dirent *e;

  if (d == NULL)
    return errno == ENOENT ? 0 : (set_error (errno, "open %s", dir), -1);
  while ((e = readdir (d)) != NULL) {
    char id[512];
    struct manifest *m;

    if (e->d_name[0] == '.')
      continue;
    snprintf (id, sizeof id, "%s/%s", name, e->d_name);
    m = load_manifest (repo, id);
    if (m == NULL) {
      if (on_error)
        on_error (opaque, id, get_error ());
      continue;
    }
    if (manifest_vector_append (out, m) == -1) {
      manifest_free (m);
      closedir (d);
      set_error (errno, "list backups");
      return -1;
    }
  }
  closedir (d);
  return 0;
}

/* The server names the backups; they are loaded and checked here as
 * local ones are. */
static int
list_remote (struct repo *repo, const char *name, manifest_vector *out,
             manifest_error_fn on_error, void *opaque)
{
  remote_id_vector ids = empty_vector;
  int r;

  r = repo->remote->manifest_ids (repo, name, &ids);
  for (size_t i = 0; r == 0 && i < ids.len; i++) {
    struct manifest *m = load_manifest (repo, ids.ptr[i]);
    if (m == NULL) {
      if (on_error)
        on_error (opaque, ids.ptr[i], get_error ());
      continue;
    }
    if (manifest_vector_append (out, m) == -1) {
      manifest_free (m);
      set_error (errno, "list backups");
      r = -1;
    }
  }
  for (size_t i = 0; i < ids.len; i++)
    free (ids.ptr[i]);
  remote_id_vector_reset (&ids);
  return r;
}

int
manifest_for_each_name (struct repo *repo,
                        int (*fn) (void *opaque, const char *name),
                        void *opaque)
{
  CLEANUP_FREE char *dir = repo_path (repo, "backups");
  DIR *d = dir ? opendir (dir) : NULL;
  struct dirent *e;
  int r = 0;

  if (d == NULL) {
    set_error (errno, "open %s", dir ? dir : "backups");
    return -1;
  }
  while (r == 0 && (e = readdir (d)) != NULL) {
    struct stat st;
    if (e->d_name[0] == '.' || !name_is_valid (e->d_name)
        || fstatat (dirfd (d), e->d_name, &st, 0) == -1
        || !S_ISDIR (st.st_mode))
      continue;                 /* not a backup name: not ours */
    r = fn (opaque, e->d_name);
  }
  closedir (d);
  return r;
}

struct list_ctx {
  struct repo *repo;
  manifest_vector *out;
  manifest_error_fn on_error;
  void *opaque;
};

static int
list_one_name (void *opaque, const char *name)
{
  struct list_ctx *c = opaque;

  return list_name (c->repo, name, c->out, c->on_error, c->opaque);
}

int
manifest_list (struct repo *repo, const char *name, manifest_vector *out,
               manifest_error_fn on_error, void *opaque)
{
  struct list_ctx c = { repo, out, on_error, opaque };
  int r;

  if (repo->remote)
    r = list_remote (repo, name, out, on_error, opaque);
  else if (name)
    r = list_name (repo, name, out, on_error, opaque);
  else
    r = manifest_for_each_name (repo, list_one_name, &c);
  if (out->len)
    qsort (out->ptr, out->len, sizeof out->ptr[0], cmp_manifest);
  return r;
}

void
manifest_vector_free (manifest_vector *v)
{
  for (size_t i = 0; i < v->len; i++)
    manifest_free (v->ptr[i]);
  manifest_vector_reset (v);
}

struct manifest *
manifest_resolve (struct repo *repo, const char *id)
{
  manifest_vector v = empty_vector;
  struct manifest *m;
  const char *slash = strchr (id, '/');
  char name[NAME_MAX_LEN + 1];
  CLEANUP_FREE char *given = strndup (id, slash ? (size_t) (slash - id)
                                      : strlen (id));

  /* NAME may be a VM's name that backups store encoded (backup_name_of). */
  if (given == NULL || backup_name_of (given, name) == -1
      || (slash && (!name_is_valid (slash + 1) || strchr (slash + 1, '/')))) {
    set_error (0, "no backup %s", id);
    return NULL;
  }
  if (slash) {
    CLEANUP_FREE char *full = NULL;
    if (asprintf (&full, "%s%s", name, slash) == -1) {
      set_error (ENOMEM, "backup ID");
      return NULL;
    }
    return load_manifest (repo, full);
  }
  if (manifest_list (repo, name, &v, NULL, NULL) == -1)
    return NULL;
  if (v.len == 0) {
    set_error (0, "no backup named %s", id);
    manifest_vector_free (&v);
    return NULL;
  }
  m = v.ptr[v.len - 1];
  v.len--;
  manifest_vector_free (&v);
  return m;
}

int
manifest_delete (struct repo *repo, const char *id)
{
  CLEANUP_FREE char *path = NULL, *dir = NULL;

  if (repo->remote)
    return repo->remote->manifest_delete (repo, id);
  path = repo_path (repo, "backups/%s", id);
  dir = path ? strdup (path) : NULL;

  if (unlink (path) == -1) {
    set_error (errno, "delete backup %s", id);
    return -1;
  }
  if (dir == NULL || strrchr (dir, '/') == NULL)
    return 0;
  *strrchr (dir, '/') = '\0';
  return fsync_dir (dir);
}
