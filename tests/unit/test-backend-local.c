/* The local backend's operations, called through backend.h as the
 * repository code calls them: put-if-absent refuses a second put, a
 * missing object is a clean error, listing shows backups and not
 * reservations, delete removes, chunks round-trip and gc spares what a
 * writer just stored. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "test.h"

#define CHUNK (64 * 1024)

static bool
keep_none (void *opaque, const struct digest *d)
{
  return false;
}

static void
manifests (struct backend *be)
{
  char *id = NULL, *id2 = NULL, *text = NULL, **ids = NULL;
  size_t len, n = 0;

  CHECK (be->ops->manifest_reserve (be, "vm", 1700000000, &id) == 0,
         "reserve: %s", get_error ());
  CHECK (strcmp (id, "vm/20231114T221320Z") == 0, "id %s", id);
  /* The same second again: the reservation is taken, so the next ID. */
  CHECK (be->ops->manifest_reserve (be, "vm", 1700000000, &id2) == 0,
         "reserve 2: %s", get_error ());
  CHECK (strcmp (id2, "vm/20231114T221320Z.2") == 0, "id2 %s", id2);
  CHECK (be->ops->manifest_list (be, NULL, &ids, &n) == 0 && n == 0,
         "a reservation is listed (%zu)", n);

  CHECK (be->ops->manifest_commit (be, id, "first\n") == 0, "commit: %s",
         get_error ());
  CHECK (be->ops->manifest_commit (be, id, "second\n") == -1,
         "a second put of the same manifest succeeded");
  CHECK (be->ops->manifest_get (be, id, 4096, &text, &len) == 0 && len == 6
           && strcmp (text, "first\n") == 0,
         "get: %s", get_error ());
  free (text);

  CHECK (be->ops->manifest_get (be, "vm/19700101T000000Z", 4096, &text, &len)
           == -1,
         "missing manifest read");
  CHECK (strcmp (get_error (), "no backup vm/19700101T000000Z") == 0
           && get_errno () == 0,
         "missing: %s", get_error ());

  CHECK (be->ops->manifest_list (be, NULL, &ids, &n) == 0 && n == 1
           && strcmp (ids[0], id) == 0,
         "list all: %zu", n);
  CHECK (be->ops->manifest_list (be, "vm", &ids, &n) == 0 && n == 2,
         "list vm: %zu", n);
  for (size_t i = 0; i < n; i++)
    free (ids[i]);
  free (ids);
  ids = NULL;
  n = 0;

  CHECK (be->ops->manifest_delete (be, id) == 0, "delete: %s", get_error ());
  CHECK (be->ops->manifest_get (be, id, 4096, &text, &len) == -1,
         "deleted manifest still readable");
  CHECK (be->ops->manifest_delete (be, id) == -1, "second delete succeeded");
  CHECK (be->ops->manifest_list (be, NULL, &ids, &n) == 0 && n == 0,
         "list after delete: %zu", n);
  be->ops->manifest_unreserve (be, id2);
  free (id);
  free (id2);
  free (ids);
}

static void
chunks (struct backend *be, const char *dir)
{
  unsigned char *enc, got[8192];
  struct digest d, missing;
  bool stored;
  size_t len;
  int worker;

  CHECK (posix_memalign ((void **) &enc, BACKEND_ALIGN, 8192) == 0, "align");
  test_fill_random (enc, 8192);
  CHECK (digest_compute (enc, 5000, &d) == 0, "digest");
  memset (&missing, 0x5a, sizeof missing);

  CHECK (be->ops->writer_begin (be) == 0, "writer: %s", get_error ());
  worker = be->ops->worker_open (be);
  CHECK (worker >= 0, "worker: %s", get_error ());
  CHECK (be->ops->chunk_refresh (be, worker, &d) == 0, "absent chunk found");
  CHECK (be->ops->chunk_put (be, worker, &d, enc, 5000, false, &stored) == 0
           && stored,
         "put: %s", get_error ());
  /* Waiting in the session counts as there: not written twice. */
  CHECK (be->ops->chunk_put (be, worker, &d, enc, 5000, true, &stored) == 0
           && !stored,
         "second put stored again");
  struct backend_stats st = { 0 };
  CHECK (be->ops->writer_flush (be, &st) == 0, "flush: %s", get_error ());
  CHECK (be->ops->chunk_put (be, worker, &d, enc, 5000, true, &stored) == 0
           && !stored,
         "put after flush stored again");
  CHECK (be->ops->chunk_get (be, &d, got, sizeof got, &len) == 0 && len == 5000
           && memcmp (got, enc, len) == 0,
         "get: %s", get_error ());
  CHECK (be->ops->chunk_get (be, &missing, got, sizeof got, &len) == -1
           && strstr (get_error (), ": missing") && get_errno () == 0,
         "missing chunk: %s", get_error ());
  CHECK (be->ops->chunk_get (be, &d, got, 100, &len) == -1,
         "a chunk larger than the buffer was read");

  /* Just stored: a gc that starts now must keep it. */
  uint64_t kept = 0, deleted = 0, bytes = 0;
  struct backend *other = backend_open (dir);
  CHECK (other != NULL, "second open: %s", get_error ());
  CHECK (be->ops->gc_begin (be, NULL, NULL) == 0, "gc_begin: %s",
         get_error ());
  CHECK (other->ops->gc_begin (other, NULL, NULL) == -1
           && strstr (get_error (), "another gc"),
         "two gcs at once");
  CHECK (be->ops->gc_sweep (be, SWEEP_CHUNKS, d.b[0], keep_none, NULL, false,
                            NULL, NULL, &kept, &deleted, &bytes)
             == 0
           && deleted == 0,
         "gc deleted a fresh chunk");
  be->ops->gc_end (be);
  backend_close (other);

  CHECK (be->ops->chunk_quarantine (be, &d) == 0, "quarantine: %s",
         get_error ());
  CHECK (be->ops->chunk_refresh (be, worker, &d) == 0,
         "quarantined chunk still in use");
  close (worker);
  be->ops->writer_end (be);
  free (enc);
}

static void
indexes (struct backend *be, const char *dir)
{
  char path[512];
  struct digest id, missing;
  unsigned char buf[200], back[200];
  int fd;

  test_fill_random (buf, sizeof buf);
  CHECK (digest_compute (buf, sizeof buf, &id) == 0, "digest");
  memset (&missing, 0x33, sizeof missing);
  snprintf (path, sizeof path, "%s/scratch", dir);
  for (int i = 0; i < 2; i++) {
    /* Put twice: the second finds the first and keeps it. */
    fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK (fd >= 0 && write_full (fd, buf, sizeof buf, 0) == 0, "scratch");
    CHECK (be->ops->index_put (be, &id, fd, NULL, sizeof buf) == 0,
           "index put %d: %s", i, get_error ());
  }
  fd = be->ops->index_open (be, &id);
  CHECK (fd >= 0 && read_full (fd, back, sizeof back, 0) == 0
           && memcmp (back, buf, sizeof buf) == 0,
         "index reads back");
  close (fd);
  CHECK (be->ops->index_open (be, &missing) == -1
           && strstr (get_error (), ": missing") && get_errno () == 0,
         "missing index: %s", get_error ());
  unlink (path);
}

int
main (void)
{
  char dir[512];
  struct backend *be;
  const struct backend_new odd = { .chunk_size = 1000 };
  const struct backend_new nc = { .chunk_size = CHUNK };

  snprintf (dir, sizeof dir, "%s/repo", test_tmpdir ());
  CHECK (backend_open (dir) == NULL && strstr (get_error (), "not a vmbackup"),
         "opened a missing repository: %s", get_error ());
  CHECK (backend_init (dir, &odd) == -1, "odd chunk size accepted");
  CHECK (backend_init (dir, &nc) == 0, "init: %s", get_error ());
  CHECK (backend_init (dir, &nc) == -1 && strstr (get_error (), "not empty"),
         "init twice");
  be = backend_open (dir);
  CHECK (be != NULL, "open: %s", get_error ());
  CHECK (strcmp (be->ops->name, "local") == 0 && be->chunk_size == CHUNK
           && strlen (be->id) == 32 && !be->append_only,
         "identity");

  manifests (be);
  chunks (be, dir);
  indexes (be, dir);
  backend_close (be);
  return 0;
}
