/* Restoring a disk image (see restore_disk.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libnbd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/test_hooks.h"
#include "common/units.h"
#include "nbd/server.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "qcow2_layout.h"
#include "restore_disk.h"
#include "restore_resume.h"

/* Holes are found at this granularity inside a chunk: the common file
 * system block, so a restored raw image is as sparse as the original. */
#define ZERO_BLOCK 4096
/* Workers sized by the cores, and at most.  A backend across a network
 * does not need more: it fetches ahead of them (chunk_prefetch_depth). */
#define CPU_WORKERS 4
/* Chunks named ahead to a backend that fetches them (chunk_prefetch)
 * cover this many bytes at most, whatever the chunk size. */
#define AHEAD_BYTES (64u << 20)
/* How often a resumable restore records how far it is: each record
 * costs an fdatasync of the image. */
#define CHECKPOINT_S 2
/* A worker between chunks. */
#define IDLE UINT64_MAX

struct restore {
  const struct restore_disk_params *p;
  struct index_reader index;
  int fd;            /* raw or new qcow2 target, or -1 */
  int dfd;           /* the same with O_DIRECT, or -1 */
  bool qcow2_direct; /* a new qcow2 image written by layout */
  struct qcow2_layout layout;
  struct nbd_server srv; /* overwritten qcow2 target */
  pthread_mutex_t lock;
  uint64_t next_chunk;
  uint64_t ahead;  /* chunks named to the backend ahead of the next */
  uint64_t hinted; /* the last chunk named so far, + 1 */
  uint64_t bytes_done;
  bool failed;
  char error[1024];
  char record[4200];  /* the progress record, when resumable */
  uint64_t recorded;  /* the chunks it says are done */
  bool sync_failed;   /* an fdatasync failed: no record may follow it */
  size_t exited;      /* workers that have stopped */
  int lock_fd;        /* holds the partial image's flock to the end */
  double paced_until; /* with a bandwidth: when the next chunk may go */
};

struct restore_worker {
  struct restore *rs;
  pthread_t thread;
  struct chunk_ctx *ctx;
  unsigned char *buf;
  struct nbd_handle *nbd;
  uint64_t busy; /* the chunk it works on, or IDLE (under rs->lock) */
};

static int
write_run (struct restore_worker *w, const unsigned char *buf, size_t len,
           uint64_t offset)
{
  struct restore *rs = w->rs;

  if (w->nbd) {
    if (nbd_pwrite (w->nbd, buf, len, offset, 0) == -1) {
      set_error (0, "write %s at offset %llu: %s", rs->p->path,
                 (unsigned long long) offset, nbd_get_error ());
      return -1;
    }
  }
  else if (rs->dfd >= 0
           && (len | offset | (uintptr_t) buf) % ZERO_BLOCK == 0) {
    /* Aligned runs go around the page cache: no copy, and O_DIRECT
     * writes inside the file's size share the inode lock instead of
     * queueing on it. */
    if (write_full (rs->dfd, buf, len, offset) == -1) {
      set_error (errno, "write %s at offset %llu", rs->p->path,
                 (unsigned long long) offset);
      return -1;
    }
  }
  else if (write_full (rs->fd, buf, len, offset) == -1) {
    set_error (errno, "write %s at offset %llu", rs->p->path,
               (unsigned long long) offset);
    return -1;
  }
  return 0;
}

/* Overwrite mode: a range that must read as zeros (it may hold data
 * from the layer written before). */
static int
zero_run (struct restore_worker *w, size_t len, uint64_t offset)
{
  if (!w->rs->p->overwrite || len == 0)
    return 0;
  if (nbd_zero (w->nbd, len, offset, 0) == -1) {
    set_error (0, "zero %s at offset %llu: %s", w->rs->p->path,
               (unsigned long long) offset, nbd_get_error ());
    return -1;
  }
  return 0;
}

/* Write buf skipping zero blocks, coalescing the non-zero runs. */
static int
write_sparse (struct restore_worker *w, const unsigned char *buf, size_t len,
              uint64_t offset)
{
  size_t zero_start = 0;
  size_t run_start = 0;
  bool in_run = false;

  for (size_t pos = 0; pos < len; pos += ZERO_BLOCK) {
    size_t n = len - pos < ZERO_BLOCK ? len - pos : ZERO_BLOCK;
    bool zero = buffer_is_zero (buf + pos, n);
    if (!zero && !in_run) {
      if (zero_run (w, pos - zero_start, offset + zero_start) == -1)
        return -1;
      run_start = pos;
      in_run = true;
    }
    else if (zero && in_run) {
      if (write_run (w, buf + run_start, pos - run_start, offset + run_start)
          == -1)
        return -1;
      in_run = false;
      zero_start = pos;
    }
  }
  if (in_run)
    return write_run (w, buf + run_start, len - run_start, offset + run_start);
  return zero_run (w, len - zero_start, offset + zero_start);
}

static void
restore_fail (struct restore *rs, const char *msg)
{
  SCOPED_LOCK (&rs->lock);
  if (!rs->failed) {
    rs->failed = true;
    snprintf (rs->error, sizeof rs->error, "%s", msg);
  }
}

/* With a bandwidth, a chunk of len bytes waits for its turn: each one
 * moves the time the next may start by len / rate, so however many
 * workers run, the data goes at the rate (after a first burst of one
 * chunk per worker). */
static void
pace (struct restore *rs, size_t len)
{
  double now, due;

  if (rs->p->bandwidth_mib <= 0)
    return;
  pthread_mutex_lock (&rs->lock);
  now = now_monotonic ();
  if (rs->paced_until < now)
    rs->paced_until = now;
  due = rs->paced_until;
  rs->paced_until += (double) len
    / ((double) rs->p->bandwidth_mib * 1048576.0);
  pthread_mutex_unlock (&rs->lock);
  /* In slices, so that a failure elsewhere is not waited out. */
  while ((now = now_monotonic ()) < due) {
    double slice = due - now < 0.1 ? due - now : 0.1;
    struct timespec ts = { 0, (long) (slice * 1e9) };
    bool failed;

    nanosleep (&ts, NULL);
    pthread_mutex_lock (&rs->lock);
    failed = rs->failed;
    pthread_mutex_unlock (&rs->lock);
    if (failed)
      return;
  }
}

/* Name the chunks up to rs->ahead after `next` (the next to be taken)
 * that are not named yet to the backend: it fetches them while the
 * workers decode the ones before (chunk_prefetch).  Under rs->lock. */
static void
hint_ahead (struct restore *rs, uint64_t next)
{
  uint64_t to = next + rs->ahead;
  struct digest d;

  if (to > rs->index.hdr.chunk_count)
    to = rs->index.hdr.chunk_count;
  for (uint64_t k = rs->hinted > next ? rs->hinted : next; k < to; k++)
    if (index_reader_get (&rs->index, k, &d) == 0 && !digest_is_zero (&d))
      chunk_prefetch (rs->p->repo, &d);
  if (to > rs->hinted)
    rs->hinted = to;
}

static void *
restore_worker_main (void *opaque)
{
  struct restore_worker *w = opaque;
  struct restore *rs = w->rs;
  uint32_t chunk = rs->index.hdr.chunk_size;
  uint64_t size = rs->index.hdr.disk_size;

  for (;;) {
    uint64_t i;
    struct digest d;
    size_t rawlen;

    /* An index is taken only to be written: the record counts every
     * index handed out and not held by a worker as written. */
    pthread_mutex_lock (&rs->lock);
    if (rs->failed || rs->next_chunk >= rs->index.hdr.chunk_count) {
      pthread_mutex_unlock (&rs->lock);
      break;
    }
    i = rs->next_chunk++;
    w->busy = i;
    /* Named under the lock: a chunk must be named before a worker
     * takes it, or it is fetched twice. */
    hint_ahead (rs, i + 1);
    pthread_mutex_unlock (&rs->lock);

    uint64_t off = i * chunk;
    size_t len = size - off < chunk ? size - off : chunk;
    test_hook_restore_chunk (i);
    if (index_reader_get (&rs->index, i, &d) == -1)
      goto fail;
    if (digest_is_zero (&d)) {
      if (zero_run (w, len, off) == -1)
        goto fail;
    }
    else {
      pace (rs, len);
      if (chunk_load (rs->p->repo, w->ctx, &d, w->buf, &rawlen) == -1) {
        error_prefix ("disk %s offset %llu", rs->p->disk->name,
                      (unsigned long long) off);
        goto fail;
      }
      if (rawlen != len) {
        set_error (0,
                   "disk %s offset %llu: chunk has %zu bytes, the backup's "
                   "index expects %zu",
                   rs->p->disk->name, (unsigned long long) off, rawlen, len);
        goto fail;
      }
      if (write_sparse (w, w->buf, len,
                        rs->qcow2_direct
                          ? qcow2_layout_chunk_offset (&rs->layout, i)
                          : off)
          == -1)
        goto fail;
    }
    pthread_mutex_lock (&rs->lock);
    rs->bytes_done += len;
    w->busy = IDLE;
    pthread_mutex_unlock (&rs->lock);
    continue;
fail:
    restore_fail (rs, get_error ());
    break;
  }
  pthread_mutex_lock (&rs->lock);
  rs->exited++;
  pthread_mutex_unlock (&rs->lock);
  return NULL;
}

/* A new qcow2 image: every chunk with data gets its place now (see
 * qcow2_layout.h), so workers write it like a raw file. */
static int
plan_qcow2 (struct restore *rs)
{
  struct digest d;

  if (qcow2_layout_init (&rs->layout, rs->index.hdr.disk_size,
                         rs->index.hdr.chunk_size)
      == -1)
    return -1;
  for (uint64_t i = 0; i < rs->index.hdr.chunk_count; i++) {
    if (index_reader_get (&rs->index, i, &d) == -1)
      return -1;
    if (!digest_is_zero (&d))
      qcow2_layout_mark (&rs->layout, i);
  }
  rs->qcow2_direct = true;
  return qcow2_layout_plan (&rs->layout);
}

/* The partial image an earlier restore to the same path left, opened
 * and locked, if this one may go on with it or replace it: a regular
 * file of ours with no other name.  -1 when there is none; -2, with
 * the error set, when another restore to the path holds it. */
static int
open_earlier (const char *tmp, const char *path)
{
  struct stat st;
  int fd = open (tmp, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

  if (fd == -1)
    return -1;
  if (flock (fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK) {
    set_error (0, "another restore to %s is running", path);
    close (fd);
    return -2;
  }
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode) || st.st_nlink != 1
      || st.st_uid != geteuid ()) {
    close (fd);
    return -1;
  }
  return fd;
}

/* Remove a partial image and its record: the record first, durably (a
 * record must never outlive the image it describes). */
static void
discard_partial (const char *tmp, const char *record)
{
  if (unlink (record) == 0)
    fsync_parent (record);
  unlink (tmp);
}

/* Where the restore starts: under --resume, from the chunks the record
 * says are done, on the partial image it describes (rs->fd); otherwise
 * from the start, with both removed (the record first, durably: a
 * record must never outlive the image it describes).  0, or -1 with
 * the error set. */
static int
resume_point (struct restore *rs, const char *tmp)
{
  int fd = open_earlier (tmp, rs->p->path);

  if (fd == -2)
    return -1;
  if (rs->p->resume && fd >= 0)
    rs->recorded = restore_resume_load (rs->record, &rs->p->disk->index,
                                        rs->p->format,
                                        rs->index.hdr.chunk_count);
  if (rs->recorded > 0) {
    rs->fd = fd;
    rs->next_chunk = rs->recorded;
    rs->bytes_done = rs->recorded * rs->index.hdr.chunk_size;
    if (rs->bytes_done > rs->index.hdr.disk_size)
      rs->bytes_done = rs->index.hdr.disk_size;
    return 0;
  }
  discard_partial (tmp, rs->record); /* left by an earlier restore */
  if (fd >= 0)
    close (fd); /* its lock held until it is gone */
  return 0;
}

/* Every chunk below the lowest one a worker holds, and below the next
 * to be handed out, is written. */
static uint64_t
chunks_written (struct restore *rs, const struct restore_worker *workers,
                size_t started)
{
  uint64_t low;

  SCOPED_LOCK (&rs->lock);
  low = rs->next_chunk < rs->index.hdr.chunk_count ? rs->next_chunk
                                                   : rs->index.hdr.chunk_count;
  for (size_t i = 0; i < started; i++)
    if (workers[i].busy < low)
      low = workers[i].busy;
  return low;
}

/* Make what is written durable, then say so in the record.  A failure
 * leaves the older record, which is still true: the restore goes on. */
static void
checkpoint (struct restore *rs, const struct restore_worker *workers,
            size_t started)
{
  uint64_t done = chunks_written (rs, workers, started);

  if (done <= rs->recorded || rs->sync_failed)
    return;
  /* After a failed fdatasync the pages it could not write may count
   * as clean: a later one succeeding proves nothing. */
  if (fdatasync (rs->fd) == -1) {
    rs->sync_failed = true;
    return;
  }
  if (restore_resume_save (rs->record, &rs->p->disk->index, rs->p->format,
                           rs->index.hdr.chunk_count, done)
      == 0)
    rs->recorded = done;
}

/* Create the temporary target (or, resuming, open the partial one) and
 * open the way to write it. */
static int
open_target (struct restore *rs, const char *tmp, size_t nworkers,
             struct restore_worker *workers)
{
  uint64_t size = rs->index.hdr.disk_size;
  bool qcow2 = strcmp (rs->p->format, "qcow2") == 0;
  struct stat st, dst;

  if (rs->p->overwrite)
    goto serve;
  if (qcow2 && plan_qcow2 (rs) == -1)
    return -1;
  if (rs->fd == -1) {
    rs->fd = open (tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (rs->fd == -1) {
      set_error (errno, "create %s", tmp);
      return -1;
    }
    /* Another restore to the same path finds it taken. */
    flock (rs->fd, LOCK_EX | LOCK_NB);
  }
  /* The lock lasts until the image has its name (or is left). */
  rs->lock_fd = dup (rs->fd);
  if (fstat (rs->fd, &st) == -1) {
    set_error (errno, "stat %s", tmp);
    return -1;
  }
  /* A qcow2 image is sized with its metadata, at the end. */
  if (!qcow2 && ftruncate (rs->fd, size) == -1) {
    set_error (errno, "size %s", tmp);
    return -1;
  }
  /* May fail: fine.  By name, so it must be the file fd is. */
  rs->dfd = open (tmp, O_WRONLY | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
  if (rs->dfd >= 0
      && (fstat (rs->dfd, &dst) == -1 || dst.st_dev != st.st_dev
          || dst.st_ino != st.st_ino)) {
    close (rs->dfd);
    rs->dfd = -1;
  }
  return 0;

serve:
  if (nbd_server_start (&rs->srv, tmp, rs->p->format, false, nworkers) == -1)
    return -1;
  for (size_t i = 0; i < nworkers; i++) {
    workers[i].nbd = nbd_server_connect (&rs->srv, false, NULL);
    if (workers[i].nbd == NULL)
      return -1;
  }
  return 0;
}

/* Finish the target: when ok, write its metadata (new qcow2) and make
 * it durable; otherwise only release it. */
static int
close_target (struct restore *rs, size_t nworkers,
              struct restore_worker *workers, const char *tmp, bool ok)
{
  int r = ok ? 0 : -1;

  if (rs->dfd >= 0) {
    close (rs->dfd);
    rs->dfd = -1;
  }
  if (rs->fd >= 0) {
    if (rs->qcow2_direct && r == 0
        && qcow2_layout_write_metadata (&rs->layout, rs->fd) == -1)
      r = -1;
    if (r == 0 && fsync (rs->fd) == -1) {
      set_error (errno, "fsync %s", tmp);
      r = -1;
    }
    close (rs->fd);
    rs->fd = -1;
  }
  for (size_t i = 0; i < nworkers; i++) {
    if (workers[i].nbd == NULL)
      continue;
    if (r == 0 && i == 0 && nbd_flush (workers[i].nbd, 0) == -1) {
      set_error (0, "flush %s: %s", tmp, nbd_get_error ());
      r = -1;
    }
    nbd_shutdown (workers[i].nbd, 0);
    nbd_close (workers[i].nbd);
    workers[i].nbd = NULL;
  }
  nbd_server_stop (&rs->srv);
  return r;
}

int
restore_partial_path (const char *path, char *out, size_t len)
{
  const char *slash = strrchr (path, '/');
  int n = slash ? snprintf (out, len, "%.*s/.%s.vmbackup-partial",
                            (int) (slash - path), path, slash + 1)
                : snprintf (out, len, "./.%s.vmbackup-partial", path);

  return n < 0 || (size_t) n >= len ? -1 : 0;
}

int
restore_partial_remove (const char *path)
{
  char tmp[4096], record[4200];

  if (restore_partial_path (path, tmp, sizeof tmp) == -1
      || restore_resume_record_path (tmp, record, sizeof record) == -1)
    return -1;
  discard_partial (tmp, record);
  return 0;
}

int
restore_disk (const struct restore_disk_params *p)
{
  struct restore rs = { .p = p, .fd = -1, .dfd = -1, .lock_fd = -1 };
  struct restore_worker workers[CPU_WORKERS] = { 0 };
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
  /* More workers than cores: part of a worker's time is file I/O. */
  size_t nworkers = ncpu * 2 > CPU_WORKERS ? CPU_WORKERS : ncpu * 2;
  size_t started = 0;
  char tmp[4096];
  int r = -1;

  rs.srv.pid = -1;
  rs.ahead = chunk_prefetch_depth (p->repo);
  if (rs.ahead > AHEAD_BYTES / p->repo->chunk_size)
    rs.ahead = AHEAD_BYTES / p->repo->chunk_size;
  if (nworkers < 1)
    nworkers = 1;
  if (p->resume && p->overwrite) {
    set_error (0, "an overwrite cannot be resumed");
    return -1;
  }
  if (strcmp (p->format, "raw") && strcmp (p->format, "qcow2")) {
    set_error (0, "unknown format %s (use raw or qcow2)", p->format);
    return -1;
  }
  if (!p->overwrite && access (p->path, F_OK) == 0) {
    set_error (0, "%s already exists; remove it or choose another path",
               p->path);
    return -1;
  }
  if (index_reader_open (&rs.index, p->repo, &p->disk->index) == -1) {
    error_prefix ("disk %s", p->disk->name);
    return -1;
  }
  if (rs.index.hdr.disk_size != p->disk->size) {
    set_error (0, "disk %s: index size %llu differs from manifest %llu",
               p->disk->name, (unsigned long long) rs.index.hdr.disk_size,
               (unsigned long long) p->disk->size);
    index_reader_close (&rs.index);
    return -1;
  }
  /* An overwrite is written in place. */
  if ((p->overwrite
         ? snprintf (tmp, sizeof tmp, "%s", p->path) >= (int) sizeof tmp
         : restore_partial_path (p->path, tmp, sizeof tmp) == -1)
      || restore_resume_record_path (tmp, rs.record, sizeof rs.record) == -1) {
    set_error (ENAMETOOLONG, "%s", p->path);
    index_reader_close (&rs.index);
    return -1;
  }
  if (!p->overwrite && resume_point (&rs, tmp) == -1) {
    index_reader_close (&rs.index);
    return -1;
  }
  if (rs.recorded > 0 && p->resumed)
    p->resumed (p->progress_opaque, rs.recorded, rs.index.hdr.chunk_count);
  pthread_mutex_init (&rs.lock, NULL);

  if (open_target (&rs, tmp, nworkers, workers) == -1)
    goto out;
  for (; started < nworkers; started++) {
    struct restore_worker *w = &workers[started];
    w->rs = &rs;
    w->busy = IDLE;
    w->ctx = chunk_ctx_for (p->repo, 0);
    if (posix_memalign ((void **) &w->buf, ZERO_BLOCK, p->repo->chunk_size))
      w->buf = NULL;
    if (w->ctx == NULL || w->buf == NULL
        || pthread_create (&w->thread, NULL, restore_worker_main, w)) {
      chunk_ctx_free (w->ctx);
      free (w->buf);
      restore_fail (&rs, "cannot start worker thread");
      break;
    }
  }
  for (double last = now_monotonic (); p->progress || p->resume;) {
    uint64_t done;
    bool finished;
    pthread_mutex_lock (&rs.lock);
    done = rs.bytes_done;
    finished = rs.failed || rs.exited == started;
    pthread_mutex_unlock (&rs.lock);
    if (p->progress)
      p->progress (p->progress_opaque, done, rs.index.hdr.disk_size);
    if (finished)
      break;
    if (p->resume && now_monotonic () - last >= CHECKPOINT_S) {
      checkpoint (&rs, workers, started);
      last = now_monotonic ();
    }
    usleep (50 * 1000);
  }
  for (size_t i = 0; i < started; i++) {
    pthread_join (workers[i].thread, NULL);
    chunk_ctx_free (workers[i].ctx);
    free (workers[i].buf);
  }
  if (rs.failed) {
    set_error (0, "%s", rs.error);
    goto out;
  }
  if (close_target (&rs, nworkers, workers, tmp, true) == -1)
    goto out;
  /* link() refuses to replace: a file that appeared at the target while
   * we worked is never overwritten. */
  if (!p->overwrite) {
    if (link (tmp, p->path) == -1) {
      set_error (errno, "create %s", p->path);
      goto out;
    }
    discard_partial (tmp, rs.record);
  }
  if (p->progress)
    p->progress (p->progress_opaque, rs.index.hdr.disk_size,
                 rs.index.hdr.disk_size);
  r = 0;

out:
  if (r == -1) {
    char saved[1024];
    snprintf (saved, sizeof saved, "%s", get_error ());
    /* A resumable restore keeps what it wrote for the next one (and
     * its record, which says how much of it is durable). */
    if (p->resume && rs.fd >= 0)
      checkpoint (&rs, workers, started);
    close_target (&rs, nworkers, workers, tmp, false);
    if (!p->overwrite && !p->resume) {
      discard_partial (tmp, rs.record);
    }
    set_error (0, "%s", saved);
  }
  if (rs.lock_fd >= 0)
    close (rs.lock_fd);
  index_reader_close (&rs.index);
  qcow2_layout_free (&rs.layout);
  pthread_mutex_destroy (&rs.lock);
  return r;
}
