/* Restoring a disk image (see restore_disk.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libnbd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "nbd/server.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "qcow2_layout.h"
#include "restore_disk.h"

/* Holes are found at this granularity inside a chunk: the common file
 * system block, so a restored raw image is as sparse as the original. */
#define ZERO_BLOCK 4096
/* Workers sized by the cores, and at most (a backend may ask for more
 * than the cores would: chunk_readers). */
#define CPU_WORKERS 4
#define MAX_WORKERS 16

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
  uint64_t bytes_done;
  bool failed;
  char error[1024];
};

struct restore_worker {
  struct restore *rs;
  pthread_t thread;
  struct chunk_ctx *ctx;
  unsigned char *buf;
  struct nbd_handle *nbd;
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

    pthread_mutex_lock (&rs->lock);
    i = rs->next_chunk++;
    if (rs->failed || i >= rs->index.hdr.chunk_count) {
      pthread_mutex_unlock (&rs->lock);
      break;
    }
    pthread_mutex_unlock (&rs->lock);

    uint64_t off = i * chunk;
    size_t len = size - off < chunk ? size - off : chunk;
    if (index_reader_get (&rs->index, i, &d) == -1)
      goto fail;
    if (digest_is_zero (&d)) {
      if (zero_run (w, len, off) == -1)
        goto fail;
    }
    else {
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
    pthread_mutex_unlock (&rs->lock);
    continue;
fail:
    restore_fail (rs, get_error ());
    break;
  }
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

/* Create the temporary target and open the way to write it. */
static int
open_target (struct restore *rs, const char *tmp, size_t nworkers,
             struct restore_worker *workers)
{
  uint64_t size = rs->index.hdr.disk_size;
  bool qcow2 = strcmp (rs->p->format, "qcow2") == 0;

  if (rs->p->overwrite)
    goto serve;
  if (qcow2 && plan_qcow2 (rs) == -1)
    return -1;
  rs->fd = open (tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (rs->fd == -1) {
    set_error (errno, "create %s", tmp);
    return -1;
  }
  /* A qcow2 image is sized with its metadata, at the end. */
  if (!qcow2 && ftruncate (rs->fd, size) == -1) {
    set_error (errno, "size %s", tmp);
    return -1;
  }
  rs->dfd = open (tmp, O_WRONLY | O_DIRECT | O_CLOEXEC); /* may fail: fine */
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
restore_disk (const struct restore_disk_params *p)
{
  struct restore rs = { .p = p, .fd = -1, .dfd = -1 };
  struct restore_worker workers[MAX_WORKERS] = { 0 };
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
  /* More workers than cores: part of a worker's time is file I/O. */
  size_t nworkers = ncpu * 2 > CPU_WORKERS ? CPU_WORKERS : ncpu * 2;
  size_t started = 0;
  CLEANUP_FREE char *tmp = NULL;
  CLEANUP_FREE char *dircopy = strdup (p->path);
  CLEANUP_FREE char *basecopy = strdup (p->path);
  int r = -1;

  rs.srv.pid = -1;
  /* A backend whose reads wait on the network asks for more reads in
   * flight than the cores would. */
  if (chunk_readers (p->repo) > nworkers)
    nworkers = chunk_readers (p->repo) > MAX_WORKERS ? MAX_WORKERS
                                                     : chunk_readers (p->repo);
  if (nworkers < 1)
    nworkers = 1;
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
  if (p->overwrite)
    tmp = strdup (p->path); /* written in place */
  else if (dircopy && basecopy
           && asprintf (&tmp, "%s/.%s.vmbackup-partial", dirname (dircopy),
                        basename (basecopy))
             == -1)
    tmp = NULL;
  if (tmp == NULL) {
    set_error (ENOMEM, "path");
    index_reader_close (&rs.index);
    return -1;
  }
  if (!p->overwrite)
    unlink (tmp); /* left by an earlier killed restore */
  pthread_mutex_init (&rs.lock, NULL);

  if (open_target (&rs, tmp, nworkers, workers) == -1)
    goto out;
  for (; started < nworkers; started++) {
    struct restore_worker *w = &workers[started];
    w->rs = &rs;
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
  while (p->progress) {
    uint64_t done;
    bool finished;
    pthread_mutex_lock (&rs.lock);
    done = rs.bytes_done;
    finished = rs.failed
      || rs.next_chunk >= rs.index.hdr.chunk_count + started;
    pthread_mutex_unlock (&rs.lock);
    p->progress (p->progress_opaque, done, rs.index.hdr.disk_size);
    if (finished)
      break;
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
    unlink (tmp);
  }
  if (p->progress)
    p->progress (p->progress_opaque, rs.index.hdr.disk_size,
                 rs.index.hdr.disk_size);
  r = 0;

out:
  if (r == -1) {
    char saved[1024];
    snprintf (saved, sizeof saved, "%s", get_error ());
    close_target (&rs, nworkers, workers, tmp, false);
    if (!p->overwrite)
      unlink (tmp);
    set_error (0, "%s", saved);
  }
  index_reader_close (&rs.index);
  qcow2_layout_free (&rs.layout);
  pthread_mutex_destroy (&rs.lock);
  return r;
}
