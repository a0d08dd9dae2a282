/* Manifests in a repository: reserving a backup ID, committing,
 * listing, loading, resolving and deleting, over the backend's manifest
 * operations.  The text format itself is manifest.c. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "manifest.h"

#define BE(repo) ((repo)->be)

int
manifest_reserve (struct repo *repo, struct manifest *m)
{
  free (m->id);
  m->id = NULL;
  return BE (repo)->ops->manifest_reserve (BE (repo), m->name, m->time,
                                           &m->id);
}

int
manifest_reserve_exact (struct repo *repo, const struct manifest *m)
{
  CLEANUP_FREE char *got = NULL;

  if (!manifest_id_matches (m->id, m->time)
      || strncmp (m->id, m->name, strlen (m->name)) != 0
      || m->id[strlen (m->name)] != '/') {
    set_error (0, "bad backup ID %s", m->id);
    return -1;
  }
  if (BE (repo)->ops->manifest_reserve_id)
    return BE (repo)->ops->manifest_reserve_id (BE (repo), m->id);
  if (BE (repo)->ops->manifest_reserve (BE (repo), m->name, m->time, &got)
      == -1)
    return -1;
  if (strcmp (got, m->id) != 0) {
    BE (repo)->ops->manifest_unreserve (BE (repo), got);
    set_error (EEXIST, "backup ID %s is taken in %s", m->id, repo->path);
    return -1;
  }
  return 0;
}

void
manifest_unreserve (struct repo *repo, const struct manifest *m)
{
  if (m->id)
    BE (repo)->ops->manifest_unreserve (BE (repo), m->id);
}

int
manifest_commit (struct repo *repo, struct manifest *m)
{
  CLEANUP_FREE char *text = NULL;

  if (m->id == NULL && manifest_reserve (repo, m) == -1)
    return -1;
  /* A manifest still sealed (serve, which has no key, committing what a
   * client sealed) is stored as it came. */
  text = repo->encryption && m->sealed == NULL
    ? manifest_serialize_sealed (repo, m)
    : manifest_serialize (m);
  if (text == NULL)
    return -1;
  return BE (repo)->ops->manifest_commit (BE (repo), m->id, text);
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

static struct manifest *
load_manifest (struct repo *repo, const char *id)
{
  CLEANUP_FREE char *text = NULL;
  struct manifest *m;
  size_t len;

  if (BE (repo)->ops->manifest_get (BE (repo), id, MANIFEST_MAX, &text, &len)
      == -1)
    return NULL;
  m = calloc (1, sizeof *m);
  if (m == NULL) {
    set_error (errno, "calloc");
    return NULL;
  }
  if (manifest_parse (text, len, m) == -1
      || manifest_unseal (repo, &m) == -1) {
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
  /* Its ID was made from its time: one that was not (a forged time, a
   * year past 9999) would sort where it does not belong. */
  if (!manifest_id_matches (id, m->time)) {
    set_error (0, "backup %s: ID does not match its time %lld", id,
               (long long) m->time);
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

/* The STAMP of id, checked for its form (manifest.h), or NULL. */
static const char *
id_stamp (const char *id)
{
  static const char form[] = "DDDDDDDDTDDDDDDZ";
  const char *slash = strchr (id, '/'), *s, *suffix;
  char name[NAME_MAX_LEN + 1];

  if (slash == NULL || slash - id > NAME_MAX_LEN)
    return NULL;
  memcpy (name, id, slash - id);
  name[slash - id] = '\0';
  if (!name_is_valid (name))
    return NULL;
  s = slash + 1;
  for (size_t i = 0; i < MANIFEST_STAMP_LEN; i++)
    if (form[i] == 'D' ? !isdigit ((unsigned char) s[i]) : s[i] != form[i])
      return NULL;
  suffix = s + MANIFEST_STAMP_LEN;
  if (suffix[0] == '\0')
    return s;
  /* ".2" to ".999", no leading zero */
  if (suffix[0] != '.' || suffix[1] < '1' || suffix[1] > '9'
      || strspn (suffix + 1, "0123456789") != strlen (suffix + 1)
      || strlen (suffix + 1) > 3 || strcmp (suffix, ".1") == 0)
    return NULL;
  return s;
}

bool
manifest_id_is_ours (const char *id)
{
  return id_stamp (id) != NULL;
}

bool
manifest_id_matches (const char *id, int64_t time)
{
  const char *stamp = id_stamp (id);
  char want[32];
  struct tm tm;
  time_t t = time;

  if (stamp == NULL || time < 0 || time > MANIFEST_TIME_MAX
      || gmtime_r (&t, &tm) == NULL)
    return false;
  strftime (want, sizeof want, "%Y%m%dT%H%M%SZ", &tm);
  return memcmp (stamp, want, MANIFEST_STAMP_LEN) == 0;
}

int
manifest_id_time (const char *id, int64_t *time)
{
  const char *stamp = id_stamp (id);
  struct tm tm = { 0 };
  char *end;

  if (stamp == NULL || (end = strptime (stamp, "%Y%m%dT%H%M%SZ", &tm)) == NULL
      || end != stamp + MANIFEST_STAMP_LEN) {
    set_error (0, "bad backup ID %s", id);
    return -1;
  }
  *time = timegm (&tm);
  /* strptime takes 20261399T...: only a time that prints back as the
   * STAMP is one. */
  if (!manifest_id_matches (id, *time)) {
    set_error (0, "bad backup ID %s", id);
    return -1;
  }
  return 0;
}

int
manifest_list (struct repo *repo, const char *name, manifest_vector *out,
               manifest_error_fn on_error, void *opaque)
{
  char **ids = NULL;
  size_t n = 0;
  int r;

  /* The backend names the backups; they are loaded and checked here,
   * whatever the backend. */
  r = BE (repo)->ops->manifest_list (BE (repo), name, &ids, &n);
  for (size_t i = 0; r == 0 && i < n; i++) {
    struct manifest *m;

    if (!manifest_id_is_ours (ids[i]))
      continue;
    m = load_manifest (repo, ids[i]);
    if (m == NULL) {
      if (on_error)
        on_error (opaque, ids[i], get_error ());
      continue;
    }
    if (manifest_vector_append (out, m) == -1) {
      manifest_free (m);
      set_error (errno, "list backups");
      r = -1;
    }
  }
  for (size_t i = 0; i < n; i++)
    free (ids[i]);
  free (ids);
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
  CLEANUP_FREE char *given = strndup (id,
                                      slash ? (size_t) (slash - id)
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
  return BE (repo)->ops->manifest_delete (BE (repo), id);
}
