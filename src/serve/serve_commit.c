/* Server side of RESERVE, UNRESERVE and COMMIT: how a client's backup
 * becomes visible.  The client is not trusted (docs/vmbackup-protocol.pod,
 * "What the server guarantees"): its start time must be the server's
 * clock within PROTO_TIME_SKEW, its name one the key may use, and what
 * it commits must parse as restore parses it, carry the time it
 * reserved, claim no more new data than the session stored, and name
 * only stored indexes and chunks that agree with it (backup_check). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "repo/backup_check.h"
#include "repo/manifest.h"
#include "session.h"

static ssize_t
find_reserved (struct session *s, const char *id)
{
  for (size_t i = 0; i < s->reserved.len; i++)
    if (strcmp (s->reserved.ptr[i].id, id) == 0)
      return i;
  return -1;
}

static void
forget_reserved (struct session *s, size_t i)
{
  free (s->reserved.ptr[i].id);
  s->reserved.ptr[i] = s->reserved.ptr[--s->reserved.len];
}

/* Is t (a client's) the server's clock within the skew? */
static int
check_clock (const char *what, int64_t t)
{
  int64_t now = time (NULL);

  if (t < now - PROTO_TIME_SKEW || t > now + PROTO_TIME_SKEW) {
    set_error (0,
               "%s %" PRId64 " is not within %d seconds of this server's "
               "clock (%" PRId64 ")",
               what, t, PROTO_TIME_SKEW, now);
    return -1;
  }
  return 0;
}

static int
check_name (struct session *s, const char *name)
{
  if (!name_is_valid (name)) {
    set_error (0, "bad backup name %s", name);
    return -1;
  }
  if (!serve_name_allowed (s->o, name)) {
    set_error (0, "backup name %s is not allowed for this key", name);
    return -1;
  }
  return 0;
}

int
serve_reserve (struct session *s, const struct proto_request *rq)
{
  struct manifest m = { .name = (char *) rq->name, .time = rq->time };
  struct reservation r;

  /* A backup reserves its ID as it starts, and its time orders it among
   * the others for prune and restore NAME: a time of the client's
   * choosing would let it outlive, or displace, what others backed up. */
  if (check_name (s, rq->name) == -1
      || check_clock ("backup start time", rq->time) == -1
      || manifest_reserve (s->repo, &m) == -1)
    return -1;
  r.id = strdup (m.id);
  r.time = rq->time;
  if (r.id == NULL || reserved_vector_append (&s->reserved, r) == -1) {
    manifest_unreserve (s->repo, &m);
    free (r.id);
    free (m.id);
    set_error (ENOMEM, "reserve");
    return -1;
  }
  pw_str (&s->reply, m.id);
  free (m.id);
  return 0;
}

static int
remember (struct session *s, const struct manifest *m)
{
  struct reservation r = { .id = strdup (m->id), .time = m->time };

  if (r.id == NULL || reserved_vector_append (&s->reserved, r) == -1) {
    manifest_unreserve (s->repo, m);
    free (r.id);
    set_error (ENOMEM, "reserve");
    return -1;
  }
  return 0;
}

/* For an append-only key: a copied backup must come after every backup
 * of its name that is there, so that it takes no earlier backup's place
 * in prune's hourly, daily... slots (what a backup made at that moment
 * would also have done, and no more). */
static int
check_after_existing (struct session *s, const struct manifest *m)
{
  char **ids = NULL;
  size_t n = 0;
  int r = s->repo->be->ops->manifest_list (s->repo->be, m->name, &ids, &n);

  for (size_t i = 0; i < n; i++) {
    int64_t t;
    if (r == 0 && manifest_id_time (ids[i], &t) == 0 && t >= m->time) {
      set_error (0,
                 "backup %s is older than backup %s: an append-only key "
                 "may only copy backups newer than those there",
                 m->id, ids[i]);
      r = -1;
    }
    free (ids[i]);
  }
  free (ids);
  return r;
}

/* A backup copied from another repository keeps its ID, and its start
 * time is the one the ID names: in the past, never the future. */
int
serve_reserve_copy (struct session *s, const struct proto_request *rq)
{
  const char *slash = strchr (rq->name, '/');
  CLEANUP_FREE char *name = slash ? strndup (rq->name, slash - rq->name)
                                  : NULL;
  struct manifest m = { .name = name, .id = (char *) rq->name };

  if (!manifest_id_is_ours (rq->name) || name == NULL
      || manifest_id_time (rq->name, &m.time) == -1) {
    set_error (0, "bad backup ID %s", rq->name);
    return -1;
  }
  if (check_name (s, name) == -1)
    return -1;
  if (m.time > (int64_t) time (NULL) + PROTO_TIME_SKEW
      && check_clock ("backup start time", m.time) == -1)
    return -1;
  if (s->o->append_only && check_after_existing (s, &m) == -1)
    return -1;
  if (manifest_reserve_exact (s->repo, &m) == -1)
    return -1;
  return remember (s, &m);
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
    unreserve_id (s, s->reserved.ptr[0].id);
    forget_reserved (s, 0);
  }
}

/* The consistencies a writer of each kind records
 * (docs/repository-format.pod); an unknown kind is refused, as nothing
 * could restore it. */
static int
check_kind (const struct manifest *m)
{
  static const char *const allowed[][4] = {
    { "image", "offline" },
    { "vm", "application", "crash", "offline" },
    { "files", "live" },
    { "host", "live" },
  };

  for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++) {
    if (strcmp (m->kind, allowed[k][0]) != 0)
      continue;
    for (size_t c = 1; c < 4 && allowed[k][c]; c++)
      if (strcmp (m->consistency, allowed[k][c]) == 0)
        return 0;
    set_error (0, "consistency %s is not one of a %s backup", m->consistency,
               m->kind);
    return -1;
  }
  set_error (0, "unknown kind %s", m->kind);
  return -1;
}

/* What each kind holds, so that what is committed can be restored: an
 * image backup is one disk, a files backup its archive and no disk, a
 * VM backup has its domain XML once; disks are raw or qcow2. */
static int
check_shape (const struct manifest *m)
{
  size_t domain_xml = 0, host = 0;

  for (size_t i = 0; i < m->files.len; i++) {
    domain_xml += strcmp (m->files.ptr[i].role, "domain-xml") == 0;
    host += strcmp (m->files.ptr[i].role, "host") == 0;
  }
  for (size_t i = 0; i < m->disks.len; i++)
    if (strcmp (m->disks.ptr[i].format, "raw") != 0
        && strcmp (m->disks.ptr[i].format, "qcow2") != 0) {
      set_error (0, "disk %s: format %s is not raw or qcow2",
                 m->disks.ptr[i].name, m->disks.ptr[i].format);
      return -1;
    }
  if (strcmp (m->kind, "image") == 0 && m->disks.len != 1) {
    set_error (0, "an image backup has one disk, not %zu", m->disks.len);
    return -1;
  }
  if (strcmp (m->kind, "files") == 0 && m->disks.len != 0) {
    set_error (0, "a files backup has no disks");
    return -1;
  }
  if (strcmp (m->kind, "host") == 0
      && (host != 1 || m->files.len != 1 || m->disks.len)) {
    set_error (0, "a host backup keeps its host document once, and no disks");
    return -1;
  }
  if (strcmp (m->kind, "vm") == 0 && domain_xml != 1) {
    set_error (0, "a VM backup keeps its domain XML once, not %zu times",
               domain_xml);
    return -1;
  }
  return 0;
}

/* Times: the reserved start, a finish between it and now. */
static int
check_times (struct session *s, const struct manifest *m, size_t i)
{
  if (m->time != s->reserved.ptr[i].time) {
    set_error (0,
               "time %" PRId64 " is not the start time %" PRId64
               " it reserved",
               m->time, s->reserved.ptr[i].time);
    return -1;
  }
  if (m->finished < m->time) {
    set_error (0, "finished %" PRId64 " before it started (%" PRId64 ")",
               m->finished, m->time);
    return -1;
  }
  /* Not before the start, which was checked against the clock. */
  return m->finished > (int64_t) time (NULL) + PROTO_TIME_SKEW
    ? check_clock ("finish time", m->finished)
    : 0;
}

/* stored-new is shown by list and summed by reports: no backup may
 * claim more than its session stored and no earlier commit of the
 * session claimed.  Capped, not refused: a client's count can honestly
 * run ahead of the server's when another client stored the same chunk
 * a moment earlier. */
static void
claim (struct session *s, uint64_t *stored_new)
{
  if (*stored_new > s->stored_unclaimed)
    *stored_new = s->stored_unclaimed;
  s->stored_unclaimed -= *stored_new;
}

static void
cap_stored_new (struct session *s, struct manifest *m)
{
  for (size_t i = 0; i < m->disks.len; i++)
    claim (s, &m->disks.ptr[i].stored_new);
  if (m->archive.present)
    claim (s, &m->archive.stored_new);
}

int
serve_commit (struct session *s, const struct proto_request *rq)
{
  struct manifest *m = calloc (1, sizeof *m);
  uint64_t unclaimed = s->stored_unclaimed;
  ssize_t i;
  int r = -1;

  if (m == NULL) {
    set_error (ENOMEM, "commit");
    return -1;
  }
  /* The parser restore and every other reader use. */
  /* In an encrypted repository the server reads the envelope and
   * refuses a manifest in the clear (and the reverse). */
  if (manifest_parse ((const char *) rq->data, rq->datalen, m) == -1
      || manifest_unseal (s->repo, &m) == -1) {
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
  if (check_kind (m) == -1 || check_shape (m) == -1
      || check_times (s, m, i) == -1) {
    error_prefix ("backup %s refused", m->id);
    goto out;
  }
  /* The chunks this session put are durable and visible before anything
   * names them, even for a client that did not ask (FINISH), and before
   * the check looks for them. */
  if (serve_finish (s) == -1)
    goto out;
  if (backup_check (s->repo, m, &s->full_chunks) == -1) {
    error_prefix ("backup %s refused", m->id);
    goto out;
  }
  cap_stored_new (s, m);
  /* manifest_commit never replaces an existing manifest; it writes the
   * manifest as parsed, with the capped stored-new. */
  r = manifest_commit (s->repo, m);
  if (r == 0)
    forget_reserved (s, i);
  else
    s->stored_unclaimed = unclaimed;
out:
  manifest_free (m);
  return r;
}
