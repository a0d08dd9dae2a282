/* The S3 backend's manifests: backups/NAME/STAMP, written once with
 * If-None-Match: * (a backup is visible when, and only when, its
 * manifest is), and the reservations reserved/NAME/STAMP that hold an
 * ID from the start of a backup until its manifest takes it.  They are
 * under a prefix of their own, so listing backups never sees them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "s3.h"

/* Names and stamps come from the repository code, which checks them;
 * a key is never built from anything else. */
static char *
key_of (const char *dir, const char *id)
{
  char *k;

  if (asprintf (&k, "%s/%s", dir, id) == -1) {
    set_error (ENOMEM, "backup %s", id);
    return NULL;
  }
  return k;
}

int
s3_manifest_reserve (struct backend *be, const char *name, int64_t time,
                     char **id)
{
  struct s3_client *c = s3_of (be)->c;
  char stamp[32];
  struct tm tm;
  time_t t = time;

  *id = NULL;
  gmtime_r (&t, &tm);
  strftime (stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  for (int attempt = 1; attempt < 1000; attempt++) {
    CLEANUP_FREE char *key = NULL, *resv = NULL;
    struct s3_put_opts o = { .if_absent = true };
    int n, r;

    free (*id);
    n = attempt == 1 ? asprintf (id, "%s/%s", name, stamp)
                     : asprintf (id, "%s/%s.%d", name, stamp, attempt);
    if (n == -1) {
      *id = NULL;
      set_error (ENOMEM, "backup ID");
      return -1;
    }
    if (!(key = key_of ("backups", *id)) || !(resv = key_of ("reserved", *id)))
      goto fail;
    if ((r = s3_head (c, key, NULL)) == -1)
      goto fail;
    if (r == 1)
      continue;
    if (s3_put (c, resv, "", 0, &o) == -1) {
      if (get_errno () == EEXIST)
        continue; /* another backup holds it */
      goto fail;
    }
    /* A manifest may have appeared between our look and our
     * reservation (its writer reserved before we looked). */
    if ((r = s3_head (c, key, NULL)) == -1)
      goto fail;
    if (r == 1) {
      s3_delete (c, resv);
      continue;
    }
    return 0;
  }
  set_error (0, "too many backups of %s in one second", name);
fail:
  free (*id);
  *id = NULL;
  return -1;
}

/* What a copy's reservation holds, which tells it from a backup's
 * (empty), as in a directory: a copy takes over a copy's, so that a
 * killed copy can be run again, but never a backup's, which may be
 * running. */
#define COPY_RESERVATION "copy\n"

/* A copied backup keeps its ID (backend.h). */
int
s3_manifest_reserve_id (struct backend *be, const char *id)
{
  struct s3_client *c = s3_of (be)->c;
  const char *slash = strchr (id, '/');
  struct s3_put_opts o = { .if_absent = true };
  CLEANUP_FREE char *key = NULL, *resv = NULL;
  struct strbuf there = STRBUF_INIT;
  bool copy;
  int r;

  /* The repository code checked the ID's form; a key is still built
   * from it here, so nothing outside backups/NAME/ passes. */
  if (slash == NULL || slash == id || id[0] == '.' || slash[1] == '.'
      || strchr (slash + 1, '/') || strstr (id, "..")) {
    set_error (0, "bad backup ID %s", id);
    return -1;
  }
  if (!(key = key_of ("backups", id)) || !(resv = key_of ("reserved", id)))
    return -1;
  if ((r = s3_head (c, key, NULL)) != 0) {
    if (r == 1)
      set_error (EEXIST, "backup %s exists", id);
    return -1;
  }
  if (s3_put (c, resv, COPY_RESERVATION, strlen (COPY_RESERVATION), &o) == 0)
    return 0;
  if (get_errno () != EEXIST)
    return -1;
  copy = s3_get (c, resv, &there, 64) == 0
    && there.len == strlen (COPY_RESERVATION)
    && memcmp (there.buf, COPY_RESERVATION, there.len) == 0;
  strbuf_release (&there);
  if (copy)
    return 0;
  set_error (EEXIST,
             "backup ID %s is reserved by a backup that is running (or was "
             "killed: then remove %sreserved/%s)",
             id, s3_of (be)->name, id);
  return -1;
}

void
s3_manifest_unreserve (struct backend *be, const char *id)
{
  CLEANUP_FREE char *resv = key_of ("reserved", id);

  if (resv)
    s3_delete (s3_of (be)->c, resv);
}

int
s3_manifest_commit (struct backend *be, const char *id, const char *text)
{
  struct s3_client *c = s3_of (be)->c;
  struct s3_put_opts o = { .if_absent = true };
  CLEANUP_FREE char *key = key_of ("backups", id);
  size_t len = strlen (text);

  if (!key)
    return -1;
  /* A backup whose lease ran out may refer to chunks a gc has taken
   * (s3_lease.h): it must not become visible. */
  if (s3_writer_lease_check (be) == -1)
    return -1;
  if (s3_put (c, key, text, len, &o) == -1) {
    struct strbuf there = STRBUF_INIT;
    bool ours;
    if (get_errno () != EEXIST)
      return -1;
    /* Our own earlier try whose answer was lost, or someone else's? */
    ours = s3_get (c, key, &there, len) == 0 && there.len == len
      && memcmp (there.buf, text, len) == 0;
    strbuf_release (&there);
    if (!ours) {
      set_error (EEXIST, "backup %s exists already", id);
      return -1;
    }
  }
  /* The lease may have run out while the manifest was on its way: then
   * a gc may not have seen it, and the backup is taken back. */
  if (s3_writer_lease_check (be) == -1) {
    s3_delete (c, key);
    return -1;
  }
  s3_manifest_unreserve (be, id);
  return 0;
}

int
s3_manifest_get (struct backend *be, const char *id, size_t max, char **text,
                 size_t *len)
{
  CLEANUP_FREE char *key = key_of ("backups", id);
  struct strbuf sb = STRBUF_INIT;

  if (!key)
    return -1;
  if (s3_get (s3_of (be)->c, key, &sb, max) == -1) {
    if (get_errno () == ENOENT)
      set_error (0, "no backup %s", id);
    else if (get_errno () == EFBIG)
      set_error (EFBIG, "backup %s: manifest larger than %zu bytes", id, max);
    strbuf_release (&sb);
    return -1;
  }
  *len = sb.len;
  *text = strbuf_detach (&sb);
  return 0;
}

struct id_list {
  char ***ids;
  size_t *n;
};

static int
one_backup (void *opaque, const char *key, uint64_t size, time_t mtime)
{
  struct id_list *l = opaque;
  const char *id = key + 8; /* after "backups/" */
  const char *slash = strchr (id, '/');
  char **p;

  /* NAME/STAMP and nothing else: dotfiles and deeper keys are not
   * backups (nor are they ours). */
  if (!slash || slash == id || !slash[1] || strchr (slash + 1, '/')
      || id[0] == '.' || slash[1] == '.')
    return 0;
  p = realloc (*l->ids, (*l->n + 1) * sizeof **l->ids);
  if (!p || !(p[*l->n] = strdup (id))) {
    if (p)
      *l->ids = p;
    set_error (ENOMEM, "list backups");
    return -1;
  }
  *l->ids = p;
  (*l->n)++;
  return 0;
}

int
s3_manifest_list (struct backend *be, const char *name, char ***ids, size_t *n)
{
  struct id_list l = { ids, n };
  CLEANUP_FREE char *prefix = NULL;

  if (name && asprintf (&prefix, "backups/%s/", name) == -1) {
    set_error (ENOMEM, "list backups");
    return -1;
  }
  return s3_list (s3_of (be)->c, prefix ? prefix : "backups/", one_backup, &l)
      == 0
    ? 0
    : -1;
}

int
s3_manifest_delete (struct backend *be, const char *id)
{
  CLEANUP_FREE char *key = key_of ("backups", id);
  int r;

  if (!key)
    return -1;
  /* S3 deletes a missing object without a word: look first. */
  r = s3_head (s3_of (be)->c, key, NULL);
  if (r == 0)
    set_error (ENOENT, "delete backup %s: no such backup", id);
  if (r != 1)
    return -1;
  return s3_delete (s3_of (be)->c, key);
}
