/* File backup (see file_backup.h).
 *
 * Threads: this one walks, reads files straight into the data stream's
 * buffer and cuts chunks; workers (one per core) hash, compress and
 * store them.  The catalogue is small and is stored inline. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/test_hooks.h"
#include "crypto/keys.h"
#include "repo/repo.h"
#include "common/strbuf.h"
#include "catalogue.h"
#include "catalogue_reader.h"
#include "hardlinks.h"
#include "repo/stream_map.h"
#include "stream_writer.h"
#include "walk.h"
#include "file_backup.h"

/* Reads of a file that keeps changing: the first and two retries. */
#define READ_ATTEMPTS 3
#define MAX_WORKERS 4

#define NO_CHUNK UINT64_MAX

/* The previous backup, read alongside the walk: both are in catalogue
 * order, so one pass over its catalogue finds each path's old record. */
struct parent {
  bool active;
  struct catalogue_reader cat;
  struct stream_map map; /* its data stream */
  struct file_entry cur; /* its record at or after the walk */
  bool have_cur;
  int lock_fd;
  /* The last of its chunks put into our stream, and where it starts in
   * ours: consecutive unchanged files share chunks. */
  uint64_t last_old, last_old_newpos;
  uint64_t ahead; /* its chunks before this one were hinted */
};

struct run {
  const struct files_backup_params *p;
  struct files_backup_result *res;
  struct stream_writer data, cat;
  struct catalogue_state cat_state;
  struct parent parent;
  struct hardlinks links;
  struct strbuf rec;
};

static void
on_problem (void *opaque, enum walk_problem what, const char *path, int err)
{
  struct run *r = opaque;
  struct event_log *ev = r->p->events;

  switch (what) {
    case WALK_VANISHED:
      event_emit (ev, EV_FILE_VANISHED, "%s disappeared during the backup",
                  path);
      break;
    case WALK_UNREADABLE:
      r->res->skipped++;
      event_emit (ev, EV_FILE_UNREADABLE, "%s: %s; not in the backup", path,
                  strerror (err));
      break;
    case WALK_SOCKET:
      event_emit (ev, EV_FILE_SOCKET, "%s is a socket: not backed up", path);
      break;
    case WALK_OTHER_FS:
      event_emit (ev, EV_FILE_OTHER_FS,
                  "%s is on another file system: its "
                  "contents are not backed up (--one-file-system)",
                  path);
      break;
    case WALK_NO_XATTRS:
      event_emit (ev, EV_FILE_NO_XATTRS,
                  "%s: extended attributes unreadable "
                  "(%s): stored without them",
                  path, strerror (err));
      break;
  }
}

static bool
same_version (const struct stat *a, const struct stat *b)
{
  return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec
    && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
    && a->st_ctim.tv_sec == b->st_ctim.tv_sec
    && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Make TO a copy of FROM.  -1 if out of memory. */
static int
copy_extents (extent_vector *to, const extent_vector *from)
{
  if (extent_vector_reserve (to, from->len) == -1)
    return -1;
  if (from->len)
    memcpy (to->ptr, from->ptr, from->len * sizeof *from->ptr);
  to->len = from->len;
  return 0;
}

/* The data extents of a file of st->st_size bytes.  Files whose blocks
 * cover their size have no holes, and most files are like that: only
 * the others cost the SEEK_DATA/SEEK_HOLE calls. */
static int
find_extents (int fd, const struct stat *st, extent_vector *out)
{
  off_t off = 0, size = st->st_size;

  out->len = 0;
  if (size == 0)
    return 0;
  if ((off_t) st->st_blocks * 512 < size) {
    while (off < size) {
      off_t data = lseek (fd, off, SEEK_DATA), hole;
      if (data == -1) {
        if (errno == ENXIO)
          return 0; /* only a hole from off on */
        break;      /* not supported: read it all */
      }
      if (data >= size)
        return 0;
      hole = lseek (fd, data, SEEK_HOLE);
      if (hole == -1)
        break;
      if (hole > size)
        hole = size;
      if (out->len == CATALOGUE_MAX_EXTENTS)
        break; /* too fragmented to describe: read it all */
      if (extent_vector_append (out, (struct extent) { data, hole - data })
          == -1) {
        set_error (ENOMEM, "extents");
        return -1;
      }
      off = hole;
    }
    if (off >= size)
      return 0;
  }
  out->len = 0;
  return extent_vector_append (out, (struct extent) { 0, size }) == -1
    ? (set_error (ENOMEM, "extents"), -1)
    : 0;
}

/* Append the extents' bytes to the data stream, reading straight into
 * its buffer.  A file that shrinks meanwhile ends at what was there:
 * the extents are cut back to it. */
static int
read_extents (struct run *r, int fd, struct file_entry *e, const char *path)
{
  for (size_t i = 0; i < e->extents.len; i++) {
    struct extent *x = &e->extents.ptr[i];
    uint64_t done = 0;

    while (done < x->length) {
      unsigned char *buf;
      size_t avail;
      ssize_t n;

      if (stream_writer_space (&r->data, &buf, &avail) == -1)
        return -1;
      if (avail > x->length - done)
        avail = x->length - done;
      n = pread (fd, buf, avail, x->offset + done);
      if (n == -1 && errno == EINTR)
        continue;
      if (n == -1) {
        set_error (errno, "read %s at offset %llu", path,
                   (unsigned long long) (x->offset + done));
        return 1;
      }
      if (n == 0) {
        x->length = done;
        e->extents.len = i + (done > 0);
        return 0;
      }
      stream_writer_advance (&r->data, n);
      r->res->bytes_read += n;
      done += n;
    }
  }
  return 0;
}

/* Read a regular file into the data stream; 1 when it could not be
 * read (reported; the entry is left out). */
static int
read_file_data (struct run *r, struct walk_item *it)
{
  struct file_entry *e = it->e;
  struct stat before, after;
  int fd, rc = 0;

  fd = openat (it->dirfd, it->name,
               O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
  if (fd == -1 && errno == EPERM) /* O_NOATIME: not our file */
    fd = openat (it->dirfd, it->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd == -1 || fstat (fd, &before) == -1) {
    on_problem (r, errno == ENOENT ? WALK_VANISHED : WALK_UNREADABLE,
                it->abspath, errno);
    if (fd >= 0)
      close (fd);
    return 1;
  }
  for (int attempt = 1;; attempt++) {
    e->size = before.st_size;
    e->mtime_sec = before.st_mtim.tv_sec;
    e->mtime_nsec = before.st_mtim.tv_nsec;
    e->ctime_sec = before.st_ctim.tv_sec;
    e->ctime_nsec = before.st_ctim.tv_nsec;
    e->data_offset = stream_writer_offset (&r->data);
    if (find_extents (fd, &before, &e->extents) == -1) {
      rc = -1;
      break;
    }
    rc = read_extents (r, fd, e, it->abspath);
    if (rc == 1)
      on_problem (r, WALK_UNREADABLE, it->abspath, get_errno ());
    if (rc != 0)
      break;
    test_hook_file_read (it->abspath);
    if (fstat (fd, &after) == -1) {
      on_problem (r, WALK_UNREADABLE, it->abspath, errno);
      rc = 1;
      break;
    }
    if (same_version (&before, &after))
      break;
    if (attempt == READ_ATTEMPTS) {
      /* Bytes of earlier attempts stay in the stream, unreferenced. */
      e->flags |= ENTRY_CHANGED;
      r->res->changed++;
      event_emit (r->p->events, EV_FILE_CHANGED,
                  "%s changed while it was "
                  "read (%d times): stored as last read, possibly "
                  "inconsistent",
                  it->abspath, READ_ATTEMPTS);
      break;
    }
    before = after;
  }
  close (fd);
  return rc;
}

static void
parent_stop (struct parent *pa)
{
  if (!pa->active)
    return;
  pa->active = false;
  file_entry_release (&pa->cur);
  catalogue_reader_close (&pa->cat);
  stream_map_close (&pa->map);
  if (pa->lock_fd >= 0)
    close (pa->lock_fd);
}

static void
parent_start (struct run *r)
{
  struct parent *pa = &r->parent;
  const struct manifest *m = r->p->parent;
  struct repo *repo = r->p->store->repo;

  pa->lock_fd = -1;
  pa->last_old = NO_CHUNK;
  if (m == NULL || !m->archive.present)
    return;
  if (catalogue_reader_open (&pa->cat, repo, &m->archive) == -1) {
    r->res->parent_failed = true;
    return;
  }
  if (stream_map_open (&pa->map, repo, &m->archive.data_map,
                       m->archive.data_chunks, m->archive.data_size)
        == -1
      || (pa->lock_fd = repo_worker_open (repo)) == -1) {
    catalogue_reader_close (&pa->cat);
    r->res->parent_failed = true;
    return;
  }
  pa->active = true;
}

/* The parent's record of path, if it has one. */
static const struct file_entry *
parent_find (struct run *r, const char *path)
{
  struct parent *pa = &r->parent;

  while (pa->active) {
    int c, more;

    if (pa->have_cur) {
      c = catalogue_path_cmp (pa->cur.path, path);
      if (c == 0)
        return &pa->cur;
      if (c > 0)
        return NULL;
      file_entry_release (&pa->cur);
      pa->have_cur = false;
    }
    more = catalogue_reader_next (&pa->cat, &pa->cur);
    if (more == 1)
      pa->have_cur = true;
    else {
      /* The end, or damage: from here on every file is read. */
      if (more == -1)
        r->res->parent_failed = true;
      parent_stop (pa);
    }
  }
  return NULL;
}

/* Unchanged files mostly come in the parent's stream order: tell a
 * store across a network which of its chunks will be checked next, so that it
 * asks ahead rather than one round trip at a time. */
#define REFRESH_LOOKAHEAD 32

static void
refresh_ahead (struct run *r, uint64_t k)
{
  struct parent *pa = &r->parent;
  uint64_t start, end;
  struct digest d;

  if (!store_refresh_ahead_useful (r->p->store))
    return;
  if (pa->ahead < k + 1)
    pa->ahead = k + 1;
  for (; pa->ahead <= k + REFRESH_LOOKAHEAD && pa->ahead < pa->map.count;
       pa->ahead++) {
    if (stream_map_get (&pa->map, pa->ahead, &start, &end, &d) == -1)
      return; /* reported if that chunk is reused */
    if (!digest_is_zero (&d))
      store_refresh_ahead (r->p->store, &d);
  }
}

/* If the parent has this file unchanged, put its chunks into our data
 * stream without reading it.  1: done, 0: read it, -1: error. */
static int
reuse_unchanged (struct run *r, struct walk_item *it)
{
  struct parent *pa = &r->parent;
  struct file_entry *e = it->e;
  const struct stat *st = it->st;
  const struct file_entry *old = parent_find (r, e->path);
  uint64_t len, first, last, newpos_first = 0, start, end;
  struct digest d;

  if (old == NULL || old->type != ENTRY_REG || (old->flags & ENTRY_CHANGED)
      || old->size != (uint64_t) st->st_size
      || old->mtime_sec != st->st_mtim.tv_sec
      || old->mtime_nsec != (uint64_t) st->st_mtim.tv_nsec
      || old->ctime_sec != st->st_ctim.tv_sec
      || old->ctime_nsec != (uint64_t) st->st_ctim.tv_nsec
      || old->inode != st->st_ino)
    return 0;
  len = file_entry_data_length (old);
  if (copy_extents (&e->extents, &old->extents) == -1) {
    set_error (ENOMEM, "extents");
    return -1;
  }
  if (len == 0) {
    /* No bytes: any offset will do, but not one past the next reused
     * file's start (which may lie in a chunk already in our stream). */
    e->data_offset = r->cat_state.data_end;
    r->res->reused++;
    return 1;
  }
  if (stream_map_find (&pa->map, old->data_offset, &first) == -1
      || stream_map_find (&pa->map, old->data_offset + len - 1, &last) == -1)
    goto unusable;
  if (pa->last_old != NO_CHUNK && first < pa->last_old)
    goto fallback; /* not in stream order: read it */
  for (uint64_t k = first; k <= last; k++) {
    uint64_t pos = stream_writer_offset (&r->data);
    if (stream_map_get (&pa->map, k, &start, &end, &d) == -1)
      goto unusable;
    if (k == first)
      newpos_first = k == pa->last_old ? pa->last_old_newpos : pos;
    if (k == pa->last_old)
      continue; /* already in our stream */
    refresh_ahead (r, k);
    if (!digest_is_zero (&d)) {
      int there = store_refresh (r->p->store, pa->lock_fd, &d);
      if (there == -1)
        return -1;
      if (there == 0)
        goto fallback; /* gone (gc, verify's quarantine) */
    }
    if (k == first || pa->last_old == NO_CHUNK) {
      if (stream_writer_flush (&r->data) == -1)
        return -1;
      pos = stream_writer_offset (&r->data);
      if (k == first)
        newpos_first = pos;
    }
    if (stream_writer_splice (&r->data, &d, end - start) == -1)
      return -1;
    pa->last_old = k;
    pa->last_old_newpos = pos;
  }
  if (stream_map_get (&pa->map, first, &start, &end, &d) == -1)
    goto unusable;
  e->data_offset = newpos_first + (old->data_offset - start);
  r->res->reused++;
  return 1;
unusable:
  r->res->parent_failed = true;
  parent_stop (pa);
fallback:
  pa->last_old = NO_CHUNK;
  e->extents.len = 0;
  return 0;
}

static int
add_record (struct run *r, const struct file_entry *e)
{
  strbuf_release (&r->rec);
  if (catalogue_encode (e, &r->cat_state, &r->rec) == -1
      || stream_writer_write (&r->cat, r->rec.buf, r->rec.len) == -1)
    return -1;
  r->res->archive.entries++;
  return 0;
}

static int
visit (void *opaque, struct walk_item *it)
{
  struct run *r = opaque;
  struct file_entry *e = it->e;

  if (e->type == ENTRY_REG) {
    const struct hardlink *h = NULL;
    int rc;

    if (it->st->st_nlink > 1
        && (h = hardlinks_find (&r->links, it->st->st_dev, it->st->st_ino))
          != NULL) {
      e->flags |= ENTRY_HARDLINK;
      if ((e->target = strdup (h->path)) == NULL
          || copy_extents (&e->extents, &h->extents) == -1) {
        set_error (ENOMEM, "hard link");
        return -1;
      }
      e->size = h->size;
      e->data_offset = h->data_offset;
      r->res->files++;
      return add_record (r, e);
    }
    rc = reuse_unchanged (r, it);
    if (rc == -1)
      return -1;
    if (rc == 0) {
      r->parent.last_old = NO_CHUNK; /* our stream moves on */
      rc = read_file_data (r, it);
      if (rc != 0)
        return rc == 1 ? 0 : -1;
    }
    if (it->st->st_nlink > 1
        && hardlinks_add (&r->links, it->st->st_dev, it->st->st_ino, e) == -1)
      return -1;
    r->res->files++;
    r->res->archive.bytes += e->size;
  }
  else if (e->type == ENTRY_DIR)
    r->res->dirs++;
  else
    r->res->others++;
  return add_record (r, e);
}

int
files_backup (const struct files_backup_params *p,
              struct files_backup_result *res)
{
  struct repo *repo = p->store->repo;
  struct run r = { .p = p, .res = res, .rec = STRBUF_INIT };
  struct walk_opts wo = { .excludes = p->excludes,
                          .nexcludes = p->nexcludes,
                          .one_file_system = p->one_file_system };
  struct walk_ops ops = { .visit = visit,
                          .problem = on_problem,
                          .opaque = &r };
  struct manifest_archive *a = &res->archive;
  struct cdc_params data_cdc, cat_cdc;
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
  size_t workers = ncpu < 1 ? 1 : ncpu > MAX_WORKERS ? MAX_WORKERS : ncpu;
  int rc = -1;

  memset (res, 0, sizeof *res);
  hardlinks_init (&r.links);
  cdc_params_for_data (&data_cdc, repo->chunk_size);
  cdc_params_for_catalogue (&cat_cdc, repo->chunk_size);
  if (repo->keys) {
    uint64_t gear[256];
    if (crypt_cdc_gear (repo->keys, gear) == -1)
      goto out;
    cdc_params_set_gear (&data_cdc, gear);
    cdc_params_set_gear (&cat_cdc, gear);
  }
  if (stream_writer_open (&r.data, p->store, &data_cdc, workers, p->level)
        == -1
      || stream_writer_open (&r.cat, p->store, &cat_cdc, 0, p->level) == -1
      || stream_writer_write (&r.cat, CATALOGUE_MAGIC, CATALOGUE_MAGIC_LEN)
        == -1)
    goto out;
  parent_start (&r);
  /* Without a previous backup to reuse from, every file is read. */
  wo.prefetch = !r.parent.active;
  if (walk_roots (&wo, p->roots, p->nroots, &ops) == -1)
    goto out;
  if (stream_writer_finish (&r.data, &a->data_map, &a->data_chunks,
                            &a->data_size)
        == -1
      || stream_writer_finish (&r.cat, &a->catalogue_map, &a->catalogue_chunks,
                               &a->catalogue_size)
        == -1)
    goto out;
  a->present = true;
  rc = 0;
out:
  parent_stop (&r.parent);
  stream_writer_close (&r.data);
  stream_writer_close (&r.cat);
  hardlinks_free (&r.links);
  strbuf_release (&r.rec);
  return rc;
}
