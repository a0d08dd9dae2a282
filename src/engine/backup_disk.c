/* Reading one disk for a backup (see backup_disk.h).
 *
 * The caller's thread reads: it walks the disk chunk by chunk, skips
 * holes and (incremental) unchanged chunks, and issues asynchronous NBD
 * reads into the slots of the pipeline (pipeline.h), whose threads hash,
 * compress and store what it reads. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "nbd/extents.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "repo/repo.h"
#include "backup_disk.h"
#include "pipeline.h"

/* NBD reads are at most READ_REQUEST bytes, MAX_INFLIGHT at a time
 * (4 chunks of 4 MiB).  qemu's NBD server gives each request a buffer
 * of its size: one of 1 MiB or more it maps afresh every time (a page
 * fault per 4 KiB, 390,000 for 1.5 GiB read in 4 MiB requests), while
 * 256 KiB ones come back from its heap, still in the cache when it
 * sends them (alternating runs on bench-vm's guest: qemu's CPU time 15%
 * lower, the backup 7% faster). */
#define READ_REQUEST (256u << 10)
#define MAX_INFLIGHT 64

struct reader {
  const struct backup_disk_params *p;
  struct pipeline pl;
  struct index_writer index;
  uint64_t max_request; /* the largest NBD read */
};

/* A full read goes through the disk in two lanes at once, the first
 * and the second half of its data, a few chunks from each in turn.
 * Disks keep like data together (a run of compressed media, then one of
 * text), and a run of data that does not compress keeps the disks busy
 * while one that does keeps the cores busy: read one at a time, each
 * leaves the other resource idle; read side by side, they overlap
 * (bench-vm: 16% faster).  On a rotating disk the two lanes cost a seek
 * per LANE_TURN chunks (8 MiB). */
#define LANES 2
#define LANE_TURN 2 /* chunks from a lane before the next */

/* Chunks [next, end), with their own block-status cursors (which only
 * go forward). */
struct lane {
  uint64_t next, end;
  struct extent_cursor alloc, dirty;
};

static int
read_done (void *opaque, int *error)
{
  struct slot *s = opaque;

  if (*error && !s->error)
    s->error = *error;
  if (--s->parts_pending == 0)
    pipeline_submit (s->pl, s);
  return 1; /* auto-retire the command */
}

static int
nbd_failed (struct reader *rd)
{
  set_error (0, "disk %s: NBD: %s", rd->p->name, nbd_get_error ());
  return -1;
}

/* Wait for a free slot, driving in-flight NBD reads meanwhile (their
 * chunks are what frees slots). */
static struct slot *
get_slot (struct reader *rd)
{
  for (;;) {
    struct slot *s = pipeline_try_slot (&rd->pl);
    if (s || pipeline_failed (&rd->pl))
      return s;
    if (nbd_aio_in_flight (rd->p->nbd) > 0) {
      if (nbd_poll (rd->p->nbd, -1) == -1) {
        nbd_failed (rd);
        return NULL;
      }
    }
    else
      pipeline_wait_slot (&rd->pl);
  }
}

/* Incremental: does chunk i keep its digest from the previous backup?
 * Yes when no byte of it is dirty and its chunk file is still there (a
 * chunk that verify quarantined is read again, which repairs it).
 * Returns 1 (done, not read), 0 (read it) or -1. */
static int
reuse_chunk (struct reader *rd, struct extent_cursor *dirty, int lock_fd,
             extent_vector *scratch, uint64_t i, uint64_t off, size_t len)
{
  const struct backup_disk_params *p = rd->p;
  struct digest d;
  bool changed;
  int r;

  if (extent_cursor_any_dirty (dirty, off, len, scratch, &changed) == -1) {
    error_prefix ("disk %s: dirty bitmap", p->name);
    return -1;
  }
  if (changed)
    return 0;
  if (index_reader_get (p->prev, i, &d) == -1) {
    error_prefix ("disk %s: previous index", p->name);
    return -1;
  }
  if (!digest_is_zero (&d)) {
    r = store_refresh_named (p->store, lock_fd, &d);
    if (r != 1)
      return r;
    if (index_writer_set (&rd->index, i, &d) == -1)
      return -1;
  }
  return 1;
}

/* Issue the reads for one chunk; holes are zero-filled locally. */
static int
start_chunk (struct reader *rd, struct slot *s, const extent_vector *ext,
             uint64_t offset, uint64_t max_request)
{
  struct nbd_handle *nbd = rd->p->nbd;

  s->parts_pending = 1; /* held until every read is issued */
  s->error = 0;
  for (size_t i = 0; i < ext->len; i++) {
    const struct extent *e = &ext->ptr[i];
    unsigned char *dst = s->buf + (e->offset - offset);
    if (e->zero) {
      memset (dst, 0, e->length);
      continue;
    }
    for (uint64_t done = 0; done < e->length;) {
      uint64_t n = e->length - done < max_request ? e->length - done
                                                  : max_request;
      s->parts_pending++;
      if (nbd_aio_pread (nbd, dst + done, n, e->offset + done,
                         (nbd_completion_callback) { .callback = read_done,
                                                     .user_data = s },
                         0)
          == -1) {
        s->parts_pending--;
        set_error (0, "disk %s: read at offset %llu: %s", rd->p->name,
                   (unsigned long long) (e->offset + done), nbd_get_error ());
        return -1;
      }
      done += n;
    }
  }
  if (--s->parts_pending == 0)
    pipeline_submit (&rd->pl, s);
  return 0;
}

/* One chunk: skip it (unchanged, or a hole) or start reading it. */
static int
read_chunk (struct reader *rd, struct lane *lane, uint64_t i, uint64_t size,
            int lock_fd, extent_vector *ext, struct backup_disk_result *res)
{
  const struct backup_disk_params *p = rd->p;
  uint32_t chunk = p->repo->chunk_size;
  uint64_t off = i * chunk;
  size_t len = size - off < chunk ? size - off : chunk;
  bool all_zero = true;
  struct slot *s;

  if (p->prev) {
    int kept = reuse_chunk (rd, &lane->dirty, lock_fd, ext, i, off, len);
    if (kept == -1)
      return -1;
    if (kept == 1) {
      pipeline_skipped (&rd->pl, len);
      res->bytes_unchanged += len;
      return 0;
    }
  }
  if (extent_cursor_get (&lane->alloc, off, len, ext) == -1) {
    error_prefix ("disk %s", p->name);
    return -1;
  }
  for (size_t k = 0; k < ext->len; k++)
    all_zero &= ext->ptr[k].zero;
  if (all_zero) {
    /* A hole costs nothing: no read, no hash, a zero index slot. */
    pipeline_skipped (&rd->pl, len);
    return 0;
  }
  s = get_slot (rd);
  if (s == NULL)
    return -1;
  s->chunk = i;
  s->len = len;
  for (size_t k = 0; k < ext->len; k++)
    if (!ext->ptr[k].zero)
      res->bytes_read += ext->ptr[k].length;
  if (start_chunk (rd, s, ext, off, rd->max_request) == -1)
    return -1;
  while (nbd_aio_in_flight (p->nbd) >= MAX_INFLIGHT)
    if (nbd_poll (p->nbd, -1) == -1)
      return nbd_failed (rd);
  return 0;
}

/* Bytes of data (not holes) in [0, size) according to ctx, and with
 * want != NULL, the first chunk at which *want bytes are reached. */
static int
count_data (struct reader *rd, const char *ctx, uint64_t size,
            const uint64_t *want, uint64_t *bytes, uint64_t *chunk_at)
{
  uint32_t chunk = rd->p->repo->chunk_size;
  struct extent_cursor c;
  extent_vector ext = empty_vector;
  int r = 0;

  *bytes = 0;
  extent_cursor_init (&c, rd->p->nbd, size, ctx);
  for (uint64_t off = 0; off < size; off += chunk) {
    if (want && *bytes >= *want) {
      *chunk_at = off / chunk;
      break;
    }
    if ((r = extent_cursor_get (&c, off,
                                size - off < chunk ? size - off : chunk, &ext))
        == -1)
      break;
    for (size_t k = 0; k < ext.len; k++)
      if (!ext.ptr[k].zero)
        *bytes += ext.ptr[k].length;
  }
  extent_vector_reset (&ext);
  extent_cursor_free (&c);
  if (r == -1)
    error_prefix ("disk %s", rd->p->name);
  return r;
}

/* Where the lanes start: at the middle of the disk's data, found with
 * two passes over its allocation map (cheap: a few block-status requests
 * per GiB, and memory that does not grow with the disk).  Incremental
 * reads, disks without block status and small disks use one lane. */
static int
plan_lanes (struct reader *rd, const char *ctx, uint64_t size,
            struct lane *lanes, size_t *nlanes)
{
  uint64_t nchunks = rd->index.hdr.chunk_count, total, half, mid = nchunks;

  *nlanes = 1;
  lanes[0].next = 0;
  lanes[0].end = nchunks;
  if (rd->p->prev || ctx == NULL || nchunks < 4 * LANE_TURN)
    return 0;
  if (count_data (rd, ctx, size, NULL, &total, NULL) == -1)
    return -1;
  half = total / 2;
  if (count_data (rd, ctx, size, &half, &total, &mid) == -1)
    return -1;
  if (mid == 0 || mid >= nchunks)
    return 0;
  lanes[0].end = lanes[1].next = mid;
  lanes[1].end = nchunks;
  *nlanes = 2;
  return 0;
}

static int
read_disk (struct reader *rd, uint64_t size, struct backup_disk_result *res)
{
  const struct backup_disk_params *p = rd->p;
  struct lane lanes[LANES];
  size_t nlanes = 0;
  extent_vector ext = empty_vector;
  int lock_fd = -1;
  int64_t max_req = nbd_get_block_size (p->nbd, LIBNBD_SIZE_MAXIMUM);
  const char *ctx = nbd_can_meta_context (p->nbd, "base:allocation") == 1
    ? "base:allocation"
    : NULL;
  int r = -1;

  if (max_req <= 0 || max_req > READ_REQUEST)
    max_req = READ_REQUEST;
  rd->max_request = max_req;
  if (plan_lanes (rd, ctx, size, lanes, &nlanes) == -1)
    return -1;
  for (size_t k = 0; k < nlanes; k++) {
    extent_cursor_init (&lanes[k].alloc, p->nbd, size, ctx);
    extent_cursor_init (&lanes[k].dirty, p->nbd, size, p->dirty_context);
  }
  if (p->prev && (lock_fd = repo_worker_open (p->repo)) == -1)
    goto out;
  for (bool more = true; more;) {
    more = false;
    for (size_t k = 0; k < nlanes; k++) {
      struct lane *l = &lanes[k];
      for (unsigned n = 0; n < LANE_TURN && l->next < l->end; n++)
        if (read_chunk (rd, l, l->next++, size, lock_fd, &ext, res) == -1)
          goto out;
      more |= l->next < l->end;
    }
    if (p->progress)
      p->progress (p->progress_opaque, pipeline_bytes_done (&rd->pl), size);
  }
  r = 0;
out:
  /* Never leave reads writing into slots about to be freed. */
  while (nbd_aio_in_flight (p->nbd) > 0)
    if (nbd_poll (p->nbd, -1) == -1)
      break;
  extent_vector_reset (&ext);
  for (size_t k = 0; k < nlanes; k++) {
    extent_cursor_free (&lanes[k].alloc);
    extent_cursor_free (&lanes[k].dirty);
  }
  if (lock_fd >= 0)
    close (lock_fd);
  return r;
}

int
backup_disk (const struct backup_disk_params *p,
             struct backup_disk_result *res)
{
  struct reader rd = { .p = p };
  int64_t size = nbd_get_size (p->nbd);
  uint64_t stored_before = p->store->stats.new_bytes;

  memset (res, 0, sizeof *res);
  if (size < 0) {
    set_error (0, "disk %s: %s", p->name, nbd_get_error ());
    return -1;
  }
  if (p->size && (uint64_t) size > p->size)
    size = p->size;
  res->size = size;
  if (p->prev
      && (p->dirty_context == NULL || p->prev->hdr.disk_size != (uint64_t) size
          || p->prev->hdr.chunk_size != p->repo->chunk_size)) {
    set_error (0, "disk %s: previous index does not match the disk", p->name);
    return -1;
  }
  if (index_writer_open (&rd.index, p->repo, size) == -1)
    return -1;
  struct pipeline_params pp = {
    .repo = p->repo,
    .store = p->store,
    .index = &rd.index,
    .name = p->name,
    .compression_level = p->compression_level,
    .named = p->named,
  };
  if (pipeline_start (&rd.pl, &pp) == -1) {
    index_writer_abort (&rd.index);
    return -1;
  }
  if (read_disk (&rd, size, res) == -1)
    pipeline_fail (&rd.pl, get_error ());
  /* The chunks must be durable before the index that names them. */
  if (pipeline_finish (&rd.pl) == -1 || store_finish (p->store) == -1) {
    index_writer_abort (&rd.index);
    return -1;
  }
  if (p->progress)
    p->progress (p->progress_opaque, size, size);
  if (index_writer_commit (&rd.index, &res->index) == -1)
    return -1;
  res->stored_new = p->store->stats.new_bytes - stored_before;
  return 0;
}
