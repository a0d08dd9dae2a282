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
#include "verify.h"

#define MAX_WORKERS 4
#define TAG_GOOD 1
#define TAG_BAD 2

void
verify_init (struct verify *v, struct repo *repo, verify_report_fn report,
             void *opaque)
{
  memset (v, 0, sizeof *v);
  v->repo = repo;
  v->report = report;
  v->opaque = opaque;
  digest_set_init (&v->checked);
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
  pthread_mutex_t lock;
  uint64_t next;
  uint64_t problems;
  bool oom;
};

static void
report (struct disk_check *dc, uint64_t chunk, const char *msg)
{
  char line[2048];

  snprintf (line, sizeof line, "backup %s disk %s offset %" PRIu64 ": %s",
            dc->m->id, dc->disk->name,
            chunk * (uint64_t) dc->index.hdr.chunk_size, msg);
  dc->v->report (dc->v->opaque, line);
  dc->problems++;
}

/* Move a damaged chunk file out of chunks/: backups would otherwise keep
 * deduplicating against it forever.  Once it is gone, the next backup of
 * the same data stores a good copy under the same name, which repairs
 * every backup that references it.  The bad file is kept for forensics. */
static bool
quarantine (struct repo *repo, const struct digest *d)
{
  char rel[128], hex[DIGEST_HEX_LEN + 1], dst[128];

  chunk_relpath (d, rel, sizeof rel);
  digest_to_hex (d, hex);
  snprintf (dst, sizeof dst, "quarantine/%s", hex);
  mkdirat (repo->dirfd, "quarantine", 0700);
  return renameat (repo->dirfd, rel, repo->dirfd, dst) == 0;
}

static void *
check_worker (void *opaque)
{
  struct disk_check *dc = opaque;
  struct verify *v = dc->v;
  struct chunk_ctx *ctx = chunk_ctx_new (v->repo->chunk_size, 0);
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
    size_t rawlen, want;
    uint64_t i;
    int ok;
    char msg[1024];

    pthread_mutex_lock (&dc->lock);
    i = dc->next++;
    pthread_mutex_unlock (&dc->lock);
    if (i >= dc->index.hdr.chunk_count)
      break;
    want = size - i * csize < csize ? size - i * csize : csize;
    if (index_reader_get (&dc->index, i, &d) == -1) {
      SCOPED_LOCK (&dc->lock);
      report (dc, i, get_error ());
      continue;
    }
    if (digest_is_zero (&d))
      continue;
    pthread_mutex_lock (&dc->lock);
    tag = digest_set_get (&v->checked, &d);
    pthread_mutex_unlock (&dc->lock);
    if (tag == 0) {
      ok = chunk_load (v->repo, ctx, &d, buf, &rawlen) == 0;
      if (ok && rawlen != want) {
        set_error (0, "chunk has %zu bytes, expected %zu", rawlen, want);
        ok = 0;
      }
      if (ok)
        msg[0] = '\0';
      else if (quarantine (v->repo, &d))
        snprintf (msg, sizeof msg, "%s (moved to quarantine/; the next "
                  "backup of this data repairs it)", get_error ());
      else
        snprintf (msg, sizeof msg, "%s", get_error ());
      SCOPED_LOCK (&dc->lock);
      v->chunks_read++;
      if (digest_set_add (&v->checked, &d, ok ? TAG_GOOD : TAG_BAD) == -1)
        dc->oom = true;
      if (!ok)
        report (dc, i, msg);
    }
    else if (tag == TAG_BAD) {
      char hex[DIGEST_HEX_LEN + 1];
      digest_to_hex (&d, hex);
      snprintf (msg, sizeof msg, "chunk %s: damaged (reported above)", hex);
      SCOPED_LOCK (&dc->lock);
      report (dc, i, msg);
    }
  }
 out:
  chunk_ctx_free (ctx);
  free (buf);
  return NULL;
}

static int
check_disk (struct verify *v, const struct manifest *m,
            const struct manifest_disk *disk)
{
  struct disk_check dc = { .v = v, .m = m, .disk = disk };
  pthread_t threads[MAX_WORKERS];
  size_t n = 0, want = sysconf (_SC_NPROCESSORS_ONLN) * 2;

  if (index_reader_open (&dc.index, v->repo, &disk->index) == -1) {
    char line[2048];
    snprintf (line, sizeof line, "backup %s disk %s: %s", m->id, disk->name,
              get_error ());
    v->report (v->opaque, line);
    return 1;
  }
  if (dc.index.hdr.disk_size != disk->size) {
    char line[2048];
    snprintf (line, sizeof line, "backup %s disk %s: index describes %" PRIu64
              " bytes, manifest %" PRIu64, m->id, disk->name,
              dc.index.hdr.disk_size, disk->size);
    v->report (v->opaque, line);
    index_reader_close (&dc.index);
    return 1;
  }
  pthread_mutex_init (&dc.lock, NULL);
  if (want > MAX_WORKERS)
    want = MAX_WORKERS;
  for (; n < want; n++)
    if (pthread_create (&threads[n], NULL, check_worker, &dc))
      break;
  if (n == 0)
    check_worker (&dc);
  for (size_t i = 0; i < n; i++)
    pthread_join (threads[i], NULL);
  pthread_mutex_destroy (&dc.lock);
  index_reader_close (&dc.index);
  if (dc.oom) {
    set_error (ENOMEM, "verify");
    return -1;
  }
  return dc.problems;
}

int64_t
verify_backup (struct verify *v, const struct manifest *m)
{
  int64_t problems = 0;

  for (size_t i = 0; i < m->disks.len; i++) {
    int r = check_disk (v, m, &m->disks.ptr[i]);
    if (r == -1)
      return -1;
    problems += r;
  }
  /* Configuration files are chunked like disks and checked the same
   * way; reports name them by role. */
  for (size_t i = 0; i < m->files.len; i++) {
    const struct manifest_file *f = &m->files.ptr[i];
    struct manifest_disk as_disk = { .name = f->role, .size = f->size,
                                     .index = f->index };
    int r = check_disk (v, m, &as_disk);
    if (r == -1)
      return -1;
    problems += r;
  }
  v->problems += problems;
  return problems;
}
