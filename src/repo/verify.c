/* Backup verification (see verify.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "chunk.h"
#include "index.h"
#include "stream_map.h"
#include "verify.h"

#define MAX_WORKERS 4
/* What verify learnt of a chunk, kept for the rest of the run. */
#define TAG_GOOD 1       /* whole; its raw length is kept beside the tag */
#define TAG_DAMAGED 2    /* its bytes are wrong */
#define TAG_MISSING 3    /* not there */
#define TAG_UNREADABLE 4 /* could not be read: may be whole, left alone */

void
verify_init (struct verify *v, struct repo *repo, verify_report_fn report,
             void *opaque)
{
  memset (v, 0, sizeof *v);
  v->repo = repo;
  v->report = report;
  v->opaque = opaque;
  digest_set_init_values (&v->checked);
}

void
verify_free (struct verify *v)
{
  digest_set_free (&v->checked);
}

struct disk_check {
  struct verify *v;
  const struct manifest *m;
  const struct manifest_disk *disk;
  struct index_reader index;
  struct stream_map *map; /* a file backup's stream, else NULL */
  bool public_chunks;     /* the chunks of a stream map */
  pthread_mutex_t lock;
  uint64_t next;
  uint64_t problems;
  bool oom;
};

static void
report (struct disk_check *dc, uint64_t offset, const char *msg)
{
  char line[2048];

  snprintf (line, sizeof line, "backup %s %s%s offset %" PRIu64 ": %s",
            dc->m->id, dc->map ? "" : "disk ", dc->disk->name, offset, msg);
  dc->v->report (dc->v->opaque, line);
  dc->problems++;
}

/* Take a damaged chunk out of use: backups would otherwise keep
 * deduplicating against it forever.  Once it is gone, the next backup of
 * the same data stores a good copy under the same name, which repairs
 * every backup that references it.  The backend keeps the bad bytes for
 * forensics. */
static bool
quarantine (struct repo *repo, const struct digest *d)
{
  char why[1024];
  bool done;

  /* The report is about the damage, not about a failed move (a chunk
   * that is missing cannot be moved). */
  snprintf (why, sizeof why, "%s", get_error ());
  done = repo->be->ops->chunk_quarantine
    && repo->be->ops->chunk_quarantine (repo->be, d) == 0;
  set_error (0, "%s", why);
  return done;
}

/* Read and check one chunk not seen before in this run: its tag, its raw
 * length in *len when whole, else the problem in msg.  Only damage (the
 * stored bytes are wrong) takes the chunk out of use; a chunk that could
 * not be read may be whole, and moving it away would make every backup
 * that needs it unrestorable. */
static unsigned char
check_chunk (struct verify *v, struct chunk_ctx *ctx, const struct digest *d,
             unsigned char *buf, uint32_t *len, char *msg, size_t msglen)
{
  size_t rawlen;

  *len = 0;
  if (chunk_verify (v->repo, ctx, d, buf, &rawlen) == 0) {
    *len = rawlen;
    msg[0] = '\0';
    return TAG_GOOD;
  }
  switch (get_error_kind ()) {
    case ERROR_DAMAGED:
      if (!v->keep_damaged && quarantine (v->repo, d))
        snprintf (msg, msglen,
                  "%s (moved to quarantine/; the next "
                  "backup of this data repairs it)",
                  get_error ());
      else
        snprintf (msg, msglen, "%s", get_error ());
      return TAG_DAMAGED;
    case ERROR_MISSING:
      snprintf (msg, msglen, "%s", get_error ());
      return TAG_MISSING;
    default:
      snprintf (msg, msglen, "%s (left in place)", get_error ());
      return TAG_UNREADABLE;
  }
}

static void *
check_worker (void *opaque)
{
  struct disk_check *dc = opaque;
  struct verify *v = dc->v;
  struct chunk_ctx *ctx = dc->public_chunks ? chunk_ctx_for_public (v->repo, 0)
                                            : chunk_ctx_for (v->repo, 0);
  unsigned char *buf = malloc (v->repo->chunk_size);
  uint64_t size = dc->index.hdr.disk_size, csize = dc->index.hdr.chunk_size;

  if (ctx == NULL || buf == NULL) {
    SCOPED_LOCK (&dc->lock);
    dc->oom = true;
    goto out;
  }
  for (;;) {
    struct digest d;
    unsigned char tag;
    size_t want;
    uint32_t len;
    uint64_t i;
    int ok;
    char msg[1024];
    uint64_t offset;

    pthread_mutex_lock (&dc->lock);
    i = dc->next++;
    if (dc->map) {
      /* The map reader caches one of its chunks: one thread at a time. */
      uint64_t end;
      if (i >= dc->map->count) {
        pthread_mutex_unlock (&dc->lock);
        break;
      }
      ok = stream_map_get (dc->map, i, &offset, &end, &d) == 0;
      if (!ok) {
        report (dc, 0, get_error ());
        dc->next = dc->map->count; /* the rest cannot be trusted */
        pthread_mutex_unlock (&dc->lock);
        break;
      }
      want = end - offset;
      pthread_mutex_unlock (&dc->lock);
    }
    else {
      pthread_mutex_unlock (&dc->lock);
      if (i >= dc->index.hdr.chunk_count)
        break;
      offset = i * csize;
      want = size - i * csize < csize ? size - i * csize : csize;
      if (index_reader_get (&dc->index, i, &d) == -1) {
        SCOPED_LOCK (&dc->lock);
        report (dc, offset, get_error ());
        continue;
      }
    }
    if (digest_is_zero (&d))
      continue;
    pthread_mutex_lock (&dc->lock);
    tag = digest_set_get_value (&v->checked, &d, &len);
    pthread_mutex_unlock (&dc->lock);
    if (tag == 0) {
      tag = check_chunk (v, ctx, &d, buf, &len, msg, sizeof msg);
      SCOPED_LOCK (&dc->lock);
      v->chunks_read++;
      if (digest_set_add_value (&v->checked, &d, tag, len) == -1)
        dc->oom = true;
      if (tag != TAG_GOOD)
        report (dc, offset, msg);
    }
    else if (tag != TAG_GOOD) {
      char hex[DIGEST_HEX_LEN + 1];
      digest_to_hex (&d, hex);
      snprintf (msg, sizeof msg, "chunk %s: %s (reported above)", hex,
                tag == TAG_MISSING     ? "missing"
                  : tag == TAG_DAMAGED ? "damaged"
                                       : "unreadable");
      SCOPED_LOCK (&dc->lock);
      report (dc, offset, msg);
    }
    /* The chunk is whole, but it is not what this backup needs there:
     * the index (or stream map) is wrong, not the chunk, which other
     * backups may need as it is.  Checked on every reference, also of
     * a chunk checked before. */
    if (tag == TAG_GOOD && len != want) {
      char hex[DIGEST_HEX_LEN + 1];
      digest_to_hex (&d, hex);
      snprintf (msg, sizeof msg,
                "chunk %s has %" PRIu32 " bytes, this backup expects %zu: "
                "the backup's %s is wrong (the chunk is left in place)",
                hex, len, want, dc->map ? "stream map" : "index");
      SCOPED_LOCK (&dc->lock);
      report (dc, offset, msg);
    }
  }
out:
  chunk_ctx_free (ctx);
  free (buf);
  return NULL;
}

static int run_workers (struct disk_check *dc);

static int
check_disk (struct verify *v, const struct manifest *m,
            const struct manifest_disk *disk, bool public_chunks)
{
  struct disk_check dc = {
    .v = v, .m = m, .disk = disk, .public_chunks = public_chunks
  };
  int r;

  if (index_reader_open (&dc.index, v->repo, &disk->index) == -1) {
    char line[2048];
    snprintf (line, sizeof line, "backup %s disk %s: %s", m->id, disk->name,
              get_error ());
    v->report (v->opaque, line);
    return 1;
  }
  if (dc.index.hdr.disk_size != disk->size) {
    char line[2048];
    snprintf (line, sizeof line,
              "backup %s disk %s: index describes %" PRIu64
              " bytes, manifest %" PRIu64,
              m->id, disk->name, dc.index.hdr.disk_size, disk->size);
    v->report (v->opaque, line);
    index_reader_close (&dc.index);
    return 1;
  }
  r = run_workers (&dc);
  index_reader_close (&dc.index);
  return r;
}

static int
run_workers (struct disk_check *dc)
{
  pthread_t threads[MAX_WORKERS];
  size_t n = 0, want = sysconf (_SC_NPROCESSORS_ONLN) * 2;

  pthread_mutex_init (&dc->lock, NULL);
  if (want > MAX_WORKERS)
    want = MAX_WORKERS;
  for (; n < want; n++)
    if (pthread_create (&threads[n], NULL, check_worker, dc))
      break;
  if (n == 0)
    check_worker (dc);
  for (size_t i = 0; i < n; i++)
    pthread_join (threads[i], NULL);
  pthread_mutex_destroy (&dc->lock);
  if (dc->oom) {
    set_error (ENOMEM, "verify");
    return -1;
  }
  return dc->problems;
}

/* A file backup's stream: its map (checked as a file would be), then
 * every chunk the map names, reported by stream offset. */
static int
check_stream (struct verify *v, const struct manifest *m, const char *what,
              const struct digest *map_id, uint64_t count, uint64_t size)
{
  struct manifest_disk as_file = { .name = (char *) what,
                                   .size = count * STREAM_MAP_ENTRY,
                                   .index = *map_id };
  struct disk_check dc = { .v = v, .m = m, .disk = &as_file };
  struct stream_map map;
  int r = check_disk (v, m, &as_file, true);

  if (r != 0)
    return r; /* the map itself is damaged */
  if (stream_map_open (&map, v->repo, map_id, count, size) == -1) {
    char line[2048];
    snprintf (line, sizeof line, "backup %s %s: %s", m->id, what,
              get_error ());
    v->report (v->opaque, line);
    return 1;
  }
  dc.map = &map;
  dc.index.fd = -1;
  r = run_workers (&dc);
  stream_map_close (&map);
  return r;
}

int64_t
verify_backup (struct verify *v, const struct manifest *m)
{
  int64_t problems = 0;

  for (size_t i = 0; i < m->disks.len; i++) {
    int r = check_disk (v, m, &m->disks.ptr[i], false);
    if (r == -1)
      return -1;
    problems += r;
  }
  /* Configuration files are chunked like disks and checked the same
   * way; reports name them by role. */
  for (size_t i = 0; i < m->files.len; i++) {
    const struct manifest_file *f = &m->files.ptr[i];
    struct manifest_disk as_disk = { .name = f->role,
                                     .size = f->size,
                                     .index = f->index };
    int r = check_disk (v, m, &as_disk, false);
    if (r == -1)
      return -1;
    problems += r;
  }
  if (m->archive.present) {
    const struct manifest_archive *a = &m->archive;
    int r = check_stream (v, m, "data stream", &a->data_map, a->data_chunks,
                          a->data_size);
    if (r != -1) {
      problems += r;
      r = check_stream (v, m, "catalogue", &a->catalogue_map,
                        a->catalogue_chunks, a->catalogue_size);
    }
    if (r == -1)
      return -1;
    problems += r;
  }
  v->problems += problems;
  return problems;
}
