/* Mark and sweep (see gc.h and lock.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "digest_set.h"
#include "index.h"
#include "lock.h"
#include "manifest.h"
#include "stream_map.h"
#include "gc.h"

/* File timestamps come from the kernel's coarse clock, which may trail
 * clock_gettime() by a tick: keep a wide margin. */
#define SLACK_NS 2000000000LL

static int64_t
mtime_ns (const struct stat *st)
{
  return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

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
    set_error (0, "%s; gc deletes nothing while a backup is unreadable "
               "(run verify, then prune or remove it)", err.msg);
    goto out;
  }
  st->backups = all.len;
  for (size_t i = 0; i < all.len; i++) {
    const struct manifest *m = all.ptr[i];
    char what[256];

    for (size_t k = 0; k < m->disks.len; k++) {
      snprintf (what, sizeof what, "disk %s", m->disks.ptr[k].name);
      if (mark_index (repo, m, what, &m->disks.ptr[k].index, chunks,
                      indexes) == -1)
        goto out;
    }
    for (size_t k = 0; k < m->files.len; k++) {
      snprintf (what, sizeof what, "file %s", m->files.ptr[k].role);
      if (mark_index (repo, m, what, &m->files.ptr[k].index, chunks,
                      indexes) == -1)
        goto out;
    }
    if (m->archive.present
        && (mark_stream (repo, m, "data stream", &m->archive.data_map,
                         m->archive.data_chunks, m->archive.data_size,
                         chunks, indexes) == -1
            || mark_stream (repo, m, "catalogue", &m->archive.catalogue_map,
                            m->archive.catalogue_chunks,
                            m->archive.catalogue_size, chunks,
                            indexes) == -1))
      goto out;
  }
  r = 0;
 out:
  manifest_vector_free (&all);
  return r;
}

/* A backup holds a directory's lock for the moment it refreshes a
 * chunk; one that is stopped (^Z) or hung holds it until it goes on, and
 * gc must wait for it (deleting under it could lose what it reuses):
 * say so rather than wait in silence. */
static int
lock_for_sweep (int lock_fd, int lock_byte, const char *rel)
{
  int r = chunk_prefix_trylock (lock_fd, lock_byte, 1);

  if (r != 1)
    return r;
  fprintf (stderr, "vmbackup: gc: waiting for a backup that is using %s "
           "(a stopped backup holds it until it goes on)\n", rel);
  return chunk_prefix_lock (lock_fd, lock_byte, 1);
}

/* Delete unreferenced, old-enough files from one directory.  lock_byte
 * >= 0: hold that prefix lock exclusively while deciding and deleting. */
static int
sweep_dir (struct repo *repo, const char *rel, const struct digest_set *keep,
           const char *suffix, int64_t cutoff, bool dry_run, int lock_fd,
           int lock_byte, uint64_t *kept, uint64_t *deleted, uint64_t *bytes)
{
  CLEANUP_FREE char *path = repo_path (repo, "%s", rel);
  int dfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d;
  struct dirent *e;

  if (dfd == -1) {
    set_error (errno, "open %s", path);
    return -1;
  }
  d = fdopendir (dfd);
  if (d == NULL) {
    close (dfd);
    set_error (errno, "open %s", path);
    return -1;
  }
  if (lock_byte >= 0 && lock_for_sweep (lock_fd, lock_byte, rel) == -1) {
    closedir (d);
    return -1;
  }
  while ((e = readdir (d)) != NULL) {
    char hex[DIGEST_HEX_LEN + 1];
    struct digest dg;
    struct stat st;
    size_t n = strlen (e->d_name), slen = suffix ? strlen (suffix) : 0;

    if (e->d_name[0] == '.' && keep)
      continue;
    if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
      continue;
    if (keep) {
      if (n != DIGEST_HEX_LEN + slen
          || (slen && strcmp (e->d_name + DIGEST_HEX_LEN, suffix)))
        continue;               /* not ours: leave it alone */
      memcpy (hex, e->d_name, DIGEST_HEX_LEN);
      hex[DIGEST_HEX_LEN] = '\0';
      if (digest_from_hex (hex, &dg) == -1)
        continue;
      if (digest_set_get (keep, &dg)) {
        (*kept)++;
        continue;
      }
    }
    if (fstatat (dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1
        || !S_ISREG (st.st_mode) || mtime_ns (&st) >= cutoff)
      continue;
    if (!dry_run && unlinkat (dfd, e->d_name, 0) == -1 && errno != ENOENT)
      continue;
    (*deleted)++;
    *bytes += st.st_size;
  }
  if (lock_byte >= 0)
    chunk_prefix_unlock (lock_fd, lock_byte);
  if (!dry_run)
    fsync (dfd);
  closedir (d);
  return 0;
}

int
gc_run (struct repo *repo, bool dry_run, struct gc_stats *st)
{
  struct digest_set chunks, indexes;
  int64_t start = now_realtime_ns (), oldest, cutoff;
  CLEANUP_CLOSE int gcfd = -1, lock_fd = -1;
  uint64_t ignored = 0;
  int r = -1;

  memset (st, 0, sizeof *st);
  gcfd = gc_lock (repo);
  if (gcfd == -1)
    return -1;
  lock_fd = chunk_lock_open (repo);
  if (lock_fd == -1) {
    set_error (errno, "%s/locks/chunks", repo->path);
    return -1;
  }
  /* Writers that started before we read the manifests may commit
   * backups we do not see: everything from their start on is kept. */
  if (writers_oldest_start (repo, &oldest) == -1)
    return -1;
  cutoff = (oldest < start ? oldest : start) - SLACK_NS;

  digest_set_init (&chunks);
  digest_set_init (&indexes);
  if (mark (repo, &chunks, &indexes, st) == -1)
    goto out;
  st->chunks_kept = 0;
  for (int p = 0; p < 256; p++) {
    char rel[16];
    snprintf (rel, sizeof rel, "chunks/%02x", p);
    if (sweep_dir (repo, rel, &chunks, NULL, cutoff, dry_run, lock_fd, p,
                   &st->chunks_kept, &st->chunks_deleted,
                   &st->bytes_deleted) == -1)
      goto out;
  }
  if (sweep_dir (repo, "indexes", &indexes, ".idx", cutoff, dry_run, lock_fd,
                 256, &ignored, &st->indexes_deleted, &st->bytes_deleted) == -1
      || sweep_dir (repo, "tmp", NULL, NULL, cutoff, dry_run, -1, -1,
                    &ignored, &st->tmp_deleted, &st->bytes_deleted) == -1)
    goto out;
  r = 0;
 out:
  digest_set_free (&chunks);
  digest_set_free (&indexes);
  return r;
}
