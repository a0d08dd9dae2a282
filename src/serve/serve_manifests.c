/* Server side of backup listing, reading and deletion, and of the
 * whole-repository requests (gc, verify), each run with the local
 * implementation and limited to the backup names the key may use.
 * Reservation and commit: serve_commit.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "repo/gc.h"
#include "repo/manifest.h"
#include "repo/verify.h"
#include "session.h"

DEFINE_VECTOR_TYPE (id_vector, char *);

static void
free_ids (id_vector *v)
{
  for (size_t i = 0; i < v->len; i++)
    free (v->ptr[i]);
  id_vector_reset (v);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Is the name part of id ("NAME/..." or "NAME") one the key may use? */
static bool
id_allowed (struct session *s, const char *id)
{
  const char *slash = strchr (id, '/');
  size_t n = slash ? (size_t) (slash - id) : strlen (id);
  char name[NAME_MAX_LEN + 1];

  if (n > NAME_MAX_LEN)
    return false;
  memcpy (name, id, n);
  name[n] = '\0';
  return serve_name_allowed (s->o, name);
}

/* "NAME/STAMP" with both parts valid backup names, and a name this key
 * may use (else it is not there, as far as the key can tell). */
static int
check_id (struct session *s, const char *id)
{
  const char *slash = strchr (id, '/');
  char name[NAME_MAX_LEN + 1];

  if (slash && slash - id <= NAME_MAX_LEN && !strchr (slash + 1, '/')) {
    memcpy (name, id, slash - id);
    name[slash - id] = '\0';
    if (name_is_valid (name) && name_is_valid (slash + 1)
        && serve_name_allowed (s->o, name))
      return 0;
  }
  set_error (0, "no backup %s", id);
  return -1;
}

/* The IDs the backend lists under one name (or all): those that are
 * ours (manifest_id_is_ours) and that the key may see. */
static int
add_ids (struct session *s, const char *name, id_vector *out)
{
  char **ids = NULL;
  size_t n = 0;
  int r = s->repo->be->ops->manifest_list (s->repo->be, name, &ids, &n);

  for (size_t i = 0; i < n; i++) {
    bool ours = manifest_id_is_ours (ids[i]) && id_allowed (s, ids[i]);

    if (r == 0 && ours && id_vector_append (out, ids[i]) == 0)
      continue;
    if (r == 0 && ours) {
      set_error (ENOMEM, "list");
      r = -1;
    }
    free (ids[i]);
  }
  free (ids);
  return r;
}

int
serve_list (struct session *s, const struct proto_request *rq)
{
  id_vector ids = empty_vector;
  size_t first = 0, n = 0, count_at;
  int r = 0;

  if (rq->name[0]) {
    if (!name_is_valid (rq->name)) {
      set_error (0, "bad backup name %s", rq->name);
      return -1;
    }
    r = add_ids (s, rq->name, &ids);
  }
  else
    r = add_ids (s, NULL, &ids);
  if (r == -1) {
    free_ids (&ids);
    return -1;
  }
  /* Pages in a stable order, each continuing after the last ID the
   * client has. */
  if (ids.len)
    qsort (ids.ptr, ids.len, sizeof ids.ptr[0], cmp_str);
  while (first < ids.len && rq->after[0]
         && strcmp (ids.ptr[first], rq->after) <= 0)
    first++;
  count_at = s->reply.len;
  pw_u32 (&s->reply, 0);
  while (first + n < ids.len && n < PROTO_MAX_LIST) {
    pw_str (&s->reply, ids.ptr[first + n]);
    n++;
  }
  put_le32 ((unsigned char *) s->reply.buf + count_at, n);
  pw_u8 (&s->reply, first + n < ids.len);
  free_ids (&ids);
  return 0;
}

int
serve_manifest_get (struct session *s, const struct proto_request *rq)
{
  CLEANUP_FREE char *path = NULL, *text = NULL;
  size_t len;

  if (check_id (s, rq->name) == -1)
    return -1;
  if (s->repo->be->ops->manifest_get (s->repo->be, rq->name, MANIFEST_MAX,
                                      &text, &len)
      == -1)
    return -1;
  strbuf_add (&s->reply, text, len);
  return 0;
}

int
serve_delete (struct session *s, const struct proto_request *rq)
{
  if (check_id (s, rq->name) == -1)
    return -1;
  return manifest_delete (s->repo, rq->name);
}

/* The server's stderr reaches the client's terminal through ssh, where
 * the user learns why gc waits. */
static void
gc_notice (void *opaque, const char *msg)
{
  (void) opaque;
  /* may print: serve's stderr is the client's terminal */
  fprintf (stderr, "vmbackup: %s\n", msg);
}

int
serve_gc (struct session *s, const struct proto_request *rq)
{
  struct gc_stats st;

  if (gc_run (s->repo, rq->dry_run, &st, gc_notice, NULL) == -1)
    return -1;
  pw_u64 (&s->reply, st.backups);
  pw_u64 (&s->reply, st.chunks_kept);
  pw_u64 (&s->reply, st.chunks_deleted);
  pw_u64 (&s->reply, st.bytes_deleted);
  pw_u64 (&s->reply, st.indexes_deleted);
  pw_u64 (&s->reply, st.tmp_deleted);
  return 0;
}

struct verify_out {
  struct session *s;
  uint64_t problems;
  bool failed;
};

static void
send_problem (void *opaque, const char *problem)
{
  struct verify_out *vo = opaque;
  size_t len = strlen (problem);

  __atomic_add_fetch (&vo->problems, 1, __ATOMIC_RELAXED);
  if (len > PROTO_MAX_MESSAGE)
    len = PROTO_MAX_MESSAGE;
  if (session_send (vo->s, ST_MORE, problem, len) == -1)
    vo->failed = true;
}

static void
bad_manifest (void *opaque, const char *id, const char *msg)
{
  struct verify_out *vo = opaque;

  if (id_allowed (vo->s, id))
    send_problem (opaque, msg);
}

/* Keep only the backups the key may see. */
static void
drop_hidden (struct session *s, manifest_vector *v)
{
  size_t kept = 0;

  for (size_t i = 0; i < v->len; i++)
    if (serve_name_allowed (s->o, v->ptr[i]->name))
      v->ptr[kept++] = v->ptr[i];
    else
      manifest_free (v->ptr[i]);
  v->len = kept;
}

int
serve_verify (struct session *s, const struct proto_request *rq)
{
  struct verify_out vo = { .s = s };
  manifest_vector v = empty_vector;
  struct verify ver;
  const char *p = (const char *) rq->data, *end = p + rq->datalen;
  int r = -1;

  if (rq->datalen == 0
      && manifest_list (s->repo, NULL, &v, bad_manifest, &vo) == -1)
    return -1;
  while (p < end) {
    const char *nl = memchr (p, '\n', end - p);
    char id[PROTO_MAX_ID + 1];
    size_t n = (nl ? nl : end) - p;
    struct manifest *m;

    snprintf (id, sizeof id, "%.*s", (int) n, p);
    p += n + 1;
    m = strlen (id) == n ? manifest_resolve (s->repo, id) : NULL;
    if (m && !serve_name_allowed (s->o, m->name)) {
      manifest_free (m);
      m = NULL;
      set_error (0, "no backup %s", id);
    }
    if (m == NULL)
      send_problem (&vo, get_error ());
    else if (manifest_vector_append (&v, m) == -1) {
      manifest_free (m);
      set_error (ENOMEM, "verify");
      goto out;
    }
  }
  drop_hidden (s, &v);
  verify_init (&ver, s->repo, send_problem, &vo);
  /* Moving a damaged chunk away is a removal: not for an append-only
   * client, which only gets the report. */
  ver.keep_damaged = s->o->append_only;
  for (size_t i = 0; i < v.len; i++)
    if (verify_backup (&ver, v.ptr[i]) == -1) {
      error_prefix ("verify %s", v.ptr[i]->id);
      verify_free (&ver);
      goto out;
    }
  pw_u64 (&s->reply, v.len);
  pw_u64 (&s->reply, ver.chunks_read);
  pw_u64 (&s->reply, vo.problems);
  verify_free (&ver);
  r = vo.failed ? (set_error (0, "write to the client"), -1) : 0;
out:
  manifest_vector_free (&v);
  return r;
}
