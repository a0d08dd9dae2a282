/* A file backup from start to commit (backup_run.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/units.h"
#include "repo/backup_file.h"
#include "repo/store.h"
#include "backup_run.h"

/* Store the events of this backup in it, as VM backups do. */
static int
add_events (struct store *store, int level, struct manifest *m,
            struct event_log *ev, struct manifest_file *f)
{
  f->role = "events";
  f->path = "events.jsonl";
  f->size = ev->lines.len;
  if (backup_buffer (store, level, ev->lines.buf, ev->lines.len, &f->index)
      == -1)
    return -1;
  m->files.ptr = f;
  m->files.len = m->files.cap = 1;
  return 0;
}

/* The latest backup of this name, when it is a file backup: files it
 * records unchanged go unread. */
static struct manifest *
find_parent (struct repo *repo, const char *name)
{
  manifest_vector all = empty_vector;
  struct manifest *parent = NULL;

  if (manifest_list (repo, name, &all, NULL, NULL) == 0 && all.len
      && all.ptr[all.len - 1]->archive.present) {
    parent = all.ptr[all.len - 1];
    all.len--;
  }
  manifest_vector_free (&all);
  return parent;
}

/* Everything after the ID is reserved; -1 leaves the store ended. */
static int
store_trees (struct repo *repo, struct manifest *m,
             struct files_backup_params *p, struct event_log *events,
             struct files_backup_outcome *out)
{
  struct files_backup_result *res = &out->res;
  struct manifest_file evfile = { 0 };
  struct store store;
  int r;

  if (store_begin (&store, repo) == -1) {
    store_end (&store);
    return -1;
  }
  p->store = &store;
  if (files_backup (p, res) == -1) {
    store_end (&store);
    return -1;
  }
  event_emit (events, EV_BACKUP_FINISHED,
              "backup finished: %" PRIu64 " entries, %" PRIu64
              " bytes read, %" PRIu64 " changed while "
              "read, %" PRIu64 " unreadable",
              res->archive.entries, res->bytes_read, res->changed,
              res->skipped);
  /* The events are stored at the file backup default level, whatever
   * --compression says: they are small and compress well. */
  if (add_events (&store, FILES_DEFAULT_LEVEL, m, events, &evfile) == -1) {
    store_end (&store);
    return -1;
  }
  m->archive = res->archive;
  m->archive.stored_new = store.stats.new_bytes;
  m->finished = time (NULL);
  /* Committed while the writer session lasts: a gc that starts once it
   * has ended must find the manifest naming what it stored (backend.h:
   * the session is what protects its chunks until then). */
  r = manifest_commit (repo, m);
  store_end (&store);
  m->files.ptr = NULL;
  m->files.len = m->files.cap = 0;
  out->stored_new = m->archive.stored_new;
  return r;
}

int
files_backup_run (struct repo *repo, const char *name, bool reread,
                  struct files_backup_params *p, struct event_log *events,
                  struct files_backup_outcome *out)
{
  struct manifest m = { .kind = "files", .consistency = "live" };
  struct manifest *parent = reread ? NULL : find_parent (repo, name);
  double t0 = now_monotonic ();
  int r = -1;

  memset (out, 0, sizeof *out);
  if (parent)
    snprintf (out->parent, sizeof out->parent, "%s", parent->id);
  p->parent = parent;
  p->events = events;
  m.name = (char *) name;
  m.time = time (NULL);
  m.chunk_size = repo->chunk_size;
  if (manifest_reserve (repo, &m) == -1)
    goto out;
  event_log_reset (events, name, m.id);
  event_emit (events, EV_BACKUP_STARTED, "file backup of %zu path%s",
              p->nroots, p->nroots == 1 ? "" : "s");
  if (store_trees (repo, &m, p, events, out) == -1) {
    char saved[1024];
    snprintf (saved, sizeof saved, "%s", get_error ());
    event_emit (events, EV_BACKUP_FAILED, "%s", saved);
    manifest_unreserve (repo, &m);
    set_error (0, "%s", saved);
    goto out;
  }
  snprintf (out->id, sizeof out->id, "%s", m.id);
  out->seconds = now_monotonic () - t0;
  r = 0;
out:
  free (m.id);
  p->parent = NULL;
  manifest_free (parent);
  return r;
}
