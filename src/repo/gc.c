/* Mark here, sweep in the backend (see gc.h and backend.h). */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "digest_set.h"
#include "index.h"
#include "manifest.h"
#include "stream_map.h"
#include "gc.h"

struct mark_error {
  char msg[1024];
  bool failed;
};

static void
on_bad_manifest (void *opaque, const char *id, const char *msg)
{
  struct mark_error *e = opaque;

  if (!e->failed)
    snprintf (e->msg, sizeof e->msg, "%s", msg);
  e->failed = true;
  (void) id;
}

/* Add one index and every chunk it names. */
static int
mark_index (struct repo *repo, const struct manifest *m, const char *what,
            const struct digest *id, struct digest_set *chunks,
            struct digest_set *indexes)
{
  struct index_reader ir;
  struct digest d;

  if (digest_set_add (indexes, id, 1) == -1)
    return -1;
  if (index_reader_open (&ir, repo, id) == -1) {
    error_prefix ("backup %s %s", m->id, what);
    set_error (0, "%s; gc deletes nothing while a backup is unreadable",
               get_error ());
    return -1;
  }
  for (uint64_t c = 0; c < ir.hdr.chunk_count; c++) {
    if (index_reader_get (&ir, c, &d) == -1
        || digest_set_add (chunks, &d, 1) == -1) {
      index_reader_close (&ir);
      return -1;
    }
  }
  index_reader_close (&ir);
  return 0;
}

/* A file backup's stream: its map (an index and its chunks) and every
 * chunk the map names. */
static int
mark_stream (struct repo *repo, const struct manifest *m, const char *what,
             const struct digest *map_id, uint64_t count, uint64_t size,
             struct digest_set *chunks, struct digest_set *indexes)
{
  struct stream_map map;
  uint64_t start, end;
  struct digest d;
  int r = 0;

  if (mark_index (repo, m, what, map_id, chunks, indexes) == -1)
    return -1;
  if (stream_map_open (&map, repo, map_id, count, size) == -1)
    goto bad;
  for (uint64_t i = 0; r == 0 && i < count; i++) {
    if (stream_map_get (&map, i, &start, &end, &d) == -1) {
      stream_map_close (&map);
      goto bad;
    }
    r = digest_set_add (chunks, &d, 1);
  }
  stream_map_close (&map);
  return r;
bad:
  error_prefix ("backup %s %s", m->id, what);
  set_error (0, "%s; gc deletes nothing while a backup is unreadable",
             get_error ());
  return -1;
}

/* Every digest any backup references, and every index. */
static int
mark (struct repo *repo, struct digest_set *chunks, struct digest_set *indexes,
      struct gc_stats *st)
{
  manifest_vector all = empty_vector;
  struct mark_error err = { .failed = false };
  int r = -1;

  if (manifest_list (repo, NULL, &all, on_bad_manifest, &err) == -1)
    return -1;
  if (err.failed) {
    /* We cannot know what an unreadable backup needs, so we delete
     * nothing rather than guess. */
    set_error (0,
               "%s; gc deletes nothing while a backup is unreadable "
               "(run verify, then prune or remove it)",
               err.msg);
    goto out;
  }
  st->backups = all.len;
  for (size_t i = 0; i < all.len; i++) {
    const struct manifest *m = all.ptr[i];
    char what[256];

    for (size_t k = 0; k < m->disks.len; k++) {
      snprintf (what, sizeof what, "disk %s", m->disks.ptr[k].name);
      if (mark_index (repo, m, what, &m->disks.ptr[k].index, chunks, indexes)
          == -1)
        goto out;
    }
    for (size_t k = 0; k < m->files.len; k++) {
      snprintf (what, sizeof what, "file %s", m->files.ptr[k].role);
      if (mark_index (repo, m, what, &m->files.ptr[k].index, chunks, indexes)
          == -1)
        goto out;
    }
    if (m->archive.present
        && (mark_stream (repo, m, "data stream", &m->archive.data_map,
                         m->archive.data_chunks, m->archive.data_size, chunks,
                         indexes)
              == -1
            || mark_stream (repo, m, "catalogue", &m->archive.catalogue_map,
                            m->archive.catalogue_chunks,
                            m->archive.catalogue_size, chunks, indexes)
              == -1))
      goto out;
  }
  r = 0;
out:
  manifest_vector_free (&all);
  return r;
}

static bool
referenced (void *opaque, const struct digest *d)
{
  return digest_set_get (opaque, d);
}

int
gc_run (struct repo *repo, bool dry_run, struct gc_stats *st,
        gc_notice_fn notice, void *opaque)
{
  struct backend *be = repo->be;
  struct digest_set chunks, indexes;
  uint64_t ignored = 0;
  int r = -1;

  memset (st, 0, sizeof *st);
  if (be->ops->gc_offload)
    return be->ops->gc_offload (be, dry_run, st);
  /* Before reading the manifests: whatever a writer that we do not see
   * yet stores or refreshes from now on is kept (backend.h). */
  if (be->ops->gc_begin (be, notice, opaque) == -1)
    return -1;
  digest_set_init (&chunks);
  digest_set_init (&indexes);
  if (mark (repo, &chunks, &indexes, st) == -1)
    goto out;
  st->chunks_kept = 0;
  for (unsigned p = 0; p < 256; p++)
    if (be->ops->gc_sweep (be, SWEEP_CHUNKS, p, referenced, &chunks, dry_run,
                           notice, opaque, &st->chunks_kept,
                           &st->chunks_deleted, &st->bytes_deleted)
        == -1)
      goto out;
  if (be->ops->gc_sweep (be, SWEEP_INDEXES, 0, referenced, &indexes, dry_run,
                         notice, opaque, &ignored, &st->indexes_deleted,
                         &st->bytes_deleted)
        == -1
      || be->ops->gc_sweep (be, SWEEP_TMP, 0, NULL, NULL, dry_run, notice,
                            opaque, &ignored, &st->tmp_deleted,
                            &st->bytes_deleted)
        == -1)
    goto out;
  r = 0;
out:
  be->ops->gc_end (be);
  digest_set_free (&chunks);
  digest_set_free (&indexes);
  return r;
}
