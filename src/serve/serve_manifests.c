/* Server side of backup listing, reservation, commit and deletion, and
 * of the whole-repository requests (gc, verify), each run with the
 * local implementation. */
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

/* "NAME/STAMP" with both parts valid backup names. */
static int
check_id (const char *id)
{
  const char *slash = strchr (id, '/');
  char name[NAME_MAX_LEN + 1];

  if (slash && slash - id <= NAME_MAX_LEN && !strchr (slash + 1, '/')) {
    memcpy (name, id, slash - id);
    name[slash - id] = '\0';
    if (name_is_valid (name) && name_is_valid (slash + 1))
      return 0;
  }
  set_error (0, "no backup %s", id);
  return -1;
}

/* The IDs the backend lists under one name (or all): those whose
 * name part is a valid backup name; anything else is not ours. */
static int
add_ids (struct session *s, const char *name, id_vector *out)
{
  char **ids = NULL;
  size_t n = 0;
  int r = s->repo->be->ops->manifest_list (s->repo->be, name, &ids, &n);

  for (size_t i = 0; i < n; i++) {
    bool ours = manifest_id_is_ours (ids[i]);

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

  if (check_id (rq->name) == -1)
    return -1;
  if (s->repo->be->ops->manifest_get (s->repo->be, rq->name, MANIFEST_MAX,
                                      &text, &len)
      == -1)
    return -1;
  strbuf_add (&s->reply, text, len);
  return 0;
}

static ssize_t
find_reserved (struct session *s, const char *id)
{
  for (size_t i = 0; i < s->reserved.len; i++)
    if (strcmp (s->reserved.ptr[i], id) == 0)
      return i;
  return -1;
}

static void
forget_reserved (struct session *s, size_t i)
{
  free (s->reserved.ptr[i]);
  s->reserved.ptr[i] = s->reserved.ptr[--s->reserved.len];
}

int
serve_reserve (struct session *s, const struct proto_request *rq)
{
  struct manifest m = { .name = (char *) rq->name, .time = rq->time };
  char *copy;

  if (!name_is_valid (rq->name)) {
    set_error (0, "bad backup name %s", rq->name);
    return -1;
  }
  if (manifest_reserve (s->repo, &m) == -1)
    return -1;
  copy = strdup (m.id);
  if (copy == NULL || reserved_vector_append (&s->reserved, copy) == -1) {
    manifest_unreserve (s->repo, &m);
    free (copy);
    free (m.id);
    set_error (ENOMEM, "reserve");
    return -1;
  }
  pw_str (&s->reply, m.id);
  free (m.id);
  return 0;
}

static void
unreserve_id (struct session *s, const char *id)
{
  const char *slash = strchr (id, '/');
  CLEANUP_FREE char *name = slash ? strndup (id, slash - id) : NULL;
  struct manifest m = { .name = name, .id = (char *) id };

  if (name)
    manifest_unreserve (s->repo, &m);
}

int
serve_unreserve (struct session *s, const struct proto_request *rq)
{
  ssize_t i = find_reserved (s, rq->name);

  if (i == -1) {
    set_error (0, "backup ID %s was not reserved by this client", rq->name);
    return -1;
  }
  unreserve_id (s, rq->name);
  forget_reserved (s, i);
  return 0;
}

void
serve_drop_reservations (struct session *s)
{
  while (s->reserved.len) {
    unreserve_id (s, s->reserved.ptr[0]);
    forget_reserved (s, 0);
  }
}

static int
index_exists (struct session *s, const struct digest *d, const char *what)
{
  char hex[DIGEST_HEX_LEN + 1];
  int fd = s->repo->be->ops->index_open (s->repo->be, d);

  if (fd >= 0) {
    close (fd);
    return 0;
  }
  digest_to_hex (d, hex);
  set_error (0, "%s: index %.16s is not in the repository", what, hex);
  return -1;
}

/* Everything the manifest names must be there before it is. */
static int
check_references (struct session *s, const struct manifest *m)
{
  for (size_t i = 0; i < m->disks.len; i++)
    if (index_exists (s, &m->disks.ptr[i].index, m->disks.ptr[i].name) == -1)
      return -1;
  for (size_t i = 0; i < m->files.len; i++)
    if (index_exists (s, &m->files.ptr[i].index, m->files.ptr[i].role) == -1)
      return -1;
  if (m->archive.present
      && (index_exists (s, &m->archive.data_map, "data stream map") == -1
          || index_exists (s, &m->archive.catalogue_map,
                           "catalogue stream map")
            == -1))
    return -1;
  return 0;
}

int
serve_commit (struct session *s, const struct proto_request *rq)
{
  struct manifest *m = calloc (1, sizeof *m);
  ssize_t i;
  int r = -1;

  if (m == NULL) {
    set_error (ENOMEM, "commit");
    return -1;
  }
  if (manifest_parse ((const char *) rq->data, rq->datalen, m) == -1) {
    error_prefix ("manifest refused");
    goto out;
  }
  i = find_reserved (s, m->id);
  if (i == -1 || strncmp (m->id, m->name, strlen (m->name))
      || m->id[strlen (m->name)] != '/') {
    set_error (0, "backup %s: ID not reserved by this client", m->id);
    goto out;
  }
  if (m->chunk_size != s->repo->chunk_size) {
    set_error (0, "backup %s: chunk size %u differs from the repository's %u",
               m->id, m->chunk_size, s->repo->chunk_size);
    goto out;
  }
  if (check_references (s, m) == -1) {
    error_prefix ("backup %s refused", m->id);
    goto out;
  }
  /* The chunks this session put are durable before anything names
   * them, even for a client that did not ask (FINISH). */
  if (serve_finish (s) == -1)
    goto out;
  /* manifest_commit never replaces an existing manifest. */
  r = manifest_commit (s->repo, m);
  if (r == 0)
    forget_reserved (s, i);
out:
  manifest_free (m);
  return r;
}

int
serve_delete (struct session *s, const struct proto_request *rq)
{
  if (check_id (rq->name) == -1)
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
  send_problem (opaque, msg);
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
    if (m == NULL)
      send_problem (&vo, get_error ());
    else if (manifest_vector_append (&v, m) == -1) {
      manifest_free (m);
      set_error (ENOMEM, "verify");
      goto out;
    }
  }
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
