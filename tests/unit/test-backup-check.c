/* backup_check: a backup whose manifest, indexes, stream maps and
 * stored chunks agree passes; each disagreement a forged manifest or
 * index could carry is refused, naming it: a size the index does not
 * hold, a chunk longer or shorter than its slot, a chunk not stored, a
 * stream map with fewer entries than the manifest says, a map entry
 * longer than its chunk, a stream that ends early.  The same through a
 * backend without chunk_head (whole chunk files read).  In an encrypted
 * repository, a chunk in the clear where a sealed one belongs, and a
 * sealed chunk in a stream map (stored in the clear), are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/endian.h"
#include "common/error.h"
#include "crypto/aead.h"
#include "crypto/keyslot.h"
#include "repo/backup_check.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "repo/manifest.h"
#include "repo/store.h"
#include "repo/stream_map.h"
#include "test.h"

#define CHUNK (64 * 1024)

static struct repo *repo;
static struct store st;
static struct chunk_ctx *ctx;
static int worker;

/* Store len random bytes (or the given ones) as a chunk; its digest. */
static struct digest
put (const void *given, size_t len)
{
  unsigned char *buf = malloc (len);
  struct digest d;

  CHECK (buf != NULL, "malloc");
  if (given)
    memcpy (buf, given, len);
  else
    test_fill_random (buf, len);
  /* Named as the repository names it (keyed when encrypted). */
  CHECK (chunk_id (ctx, buf, len, &d) == 0, "chunk_id: %s", get_error ());
  CHECK (store_put (&st, ctx, worker, &d, buf, len) == 0, "put: %s",
         get_error ());
  CHECK (store_finish (&st) == 0, "finish: %s", get_error ());
  free (buf);
  return d;
}

/* An index of a disk of size bytes with these slots. */
static struct digest
index_of (uint64_t size, const struct digest *slots, size_t n)
{
  struct index_writer w;
  struct digest id;

  CHECK (index_writer_open (&w, repo, size) == 0, "index: %s", get_error ());
  for (size_t i = 0; i < n; i++)
    CHECK (index_writer_set (&w, i, &slots[i]) == 0, "set: %s", get_error ());
  CHECK (index_writer_commit (&w, &id) == 0, "commit: %s", get_error ());
  return id;
}

/* A stream map of n entries (ends, digests), stored as a chunk under an
 * index. */
static struct digest
map_of (const uint64_t *ends, const struct digest *d, size_t n)
{
  unsigned char buf[4 * STREAM_MAP_ENTRY];
  struct digest chunk;

  for (size_t i = 0; i < n; i++) {
    put_le64 (buf + i * STREAM_MAP_ENTRY, ends[i]);
    memcpy (buf + i * STREAM_MAP_ENTRY + 8, d[i].b, DIGEST_LEN);
  }
  chunk = put (buf, n * STREAM_MAP_ENTRY);
  return index_of (n * STREAM_MAP_ENTRY, &chunk, 1);
}

static void
passes (const struct manifest *m, const char *what)
{
  CHECK (backup_check (repo, m, NULL) == 0, "%s refused: %s", what,
         get_error ());
}

static void
refused (const struct manifest *m, const char *what, const char *msg)
{
  set_error (0, "no error set");
  CHECK (backup_check (repo, m, NULL) == -1, "%s accepted", what);
  CHECK (strstr (get_error (), msg) != NULL, "%s: error '%s' lacks '%s'", what,
         get_error (), msg);
}

static void
image_cases (void)
{
  struct digest zero = { { 0 } }, missing;
  struct digest a = put (NULL, CHUNK), b = put (NULL, 4096);
  struct digest slots[3] = { a, zero, b };
  struct manifest_disk disk = { .name = "vda", .format = "raw" };
  struct manifest m = { .kind = "image", .chunk_size = CHUNK };
  struct digest_set full;

  disk.size = 2 * CHUNK + 4096;
  disk.index = index_of (disk.size, slots, 3);
  m.disks.ptr = &disk;
  m.disks.len = 1;
  passes (&m, "a whole image backup");

  digest_set_init (&full);
  CHECK (backup_check (repo, &m, &full) == 0, "with a set: %s", get_error ());
  CHECK (digest_set_get (&full, &a) && !digest_set_get (&full, &b),
         "only full-size chunks are remembered");
  digest_set_free (&full);

  disk.size++;
  refused (&m, "a size the index does not hold",
           "disk vda: index holds 135168 bytes, the backup says 135169");

  /* The full chunk a in the last slot, which holds 4096 bytes. */
  slots[2] = a;
  disk.size = 2 * CHUNK + 4096;
  disk.index = index_of (disk.size, slots, 3);
  refused (&m, "a long chunk in a short slot",
           "has 65536 bytes, the backup says 4096");

  /* A stored 64 KiB chunk called 1 byte long (issue 12, finding 1). */
  disk.size = 1;
  disk.index = index_of (1, &a, 1);
  refused (&m, "a 1-byte disk naming a full chunk", "chunk 0 (" /* hex */);
  refused (&m, "a 1-byte disk naming a full chunk",
           "has 65536 bytes, the backup says 1");

  /* b (4096 bytes) in a full slot. */
  slots[0] = b;
  slots[2] = b;
  disk.size = 2 * CHUNK + 4096;
  disk.index = index_of (disk.size, slots, 3);
  refused (&m, "a short chunk in a full slot", "chunk 0 (" /* hex */);

  test_fill_random (missing.b, DIGEST_LEN);
  slots[0] = missing;
  disk.index = index_of (disk.size, slots, 3);
  refused (&m, "a chunk not stored", "missing");

  /* A configuration file is checked the same way. */
  {
    struct manifest_file f = { .role = "nvram", .path = "x", .size = 10 };
    struct manifest mf = { .kind = "vm", .chunk_size = CHUNK };

    f.index = index_of (10, &b, 1);
    mf.files.ptr = &f;
    mf.files.len = 1;
    refused (&mf, "a file index calling b 10 bytes", "file nvram: chunk 0");
  }
}

static void
stream_cases (void)
{
  struct digest c[2] = { put (NULL, 1000), put (NULL, 3000) };
  uint64_t ends[2] = { 1000, 4000 }, bad_ends[2] = { 2000, 4000 };
  struct manifest m = { .kind = "files", .chunk_size = CHUNK };
  struct manifest_archive *a = &m.archive;

  a->present = true;
  a->data_map = a->catalogue_map = map_of (ends, c, 2);
  a->data_size = a->catalogue_size = 4000;
  a->data_chunks = a->catalogue_chunks = 2;
  passes (&m, "a whole file backup");

  a->data_chunks = 3;
  refused (&m, "more chunks than the map holds",
           "data stream: index holds 80 bytes, the backup says 120");
  a->data_chunks = 2;
  a->catalogue_size = 4001;
  refused (&m, "a stream that ends early", "catalogue stream: stream map");
  a->catalogue_size = 4000;
  a->data_map = map_of (bad_ends, c, 2);
  refused (&m, "a map entry longer than its chunk", "data stream: chunk 0 (");
  refused (&m, "a map entry longer than its chunk",
           "has 1000 bytes, the backup says 2000");
}

/* An encrypted repository: sealed data chunks, stream maps in the
 * clear, each where its role says. */
static void
encrypted_cases (const char *dir)
{
  unsigned char fkey[32];
  struct key_secret sec = { KEY_SLOT_KEY_FILE, fkey, sizeof fkey };
  struct repo *clear_repo = repo;
  struct store clear_st = st;
  int clear_worker = worker;
  struct chunk_ctx *sealed, *public;
  char path[512];

  test_fill_random (fkey, sizeof fkey);
  snprintf (path, sizeof path, "%s/encrypted", dir);
  CHECK (repo_init (path, CHUNK, AEAD_AES_256_GCM, &sec, NULL) == 0,
         "init encrypted: %s", get_error ());
  repo = repo_open (path);
  CHECK (repo != NULL && repo_unlock (repo, &sec) == 0, "open: %s",
         get_error ());
  CHECK (store_begin (&st, repo) == 0, "store_begin: %s", get_error ());
  worker = repo_worker_open (repo);
  CHECK (worker >= 0, "worker: %s", get_error ());
  sealed = chunk_ctx_for (repo, 3);
  public = chunk_ctx_for_public (repo, 3);
  CHECK (sealed != NULL && public != NULL, "contexts");

  {
    struct digest good, plain;
    struct manifest_disk disk = { .name = "vda", .format = "raw" };
    struct manifest m = { .kind = "image", .chunk_size = CHUNK };

    ctx = sealed;
    good = put (NULL, CHUNK);
    ctx = public;
    plain = put (NULL, CHUNK);
    disk.size = CHUNK;
    disk.index = index_of (CHUNK, &good, 1);
    m.disks.ptr = &disk;
    m.disks.len = 1;
    passes (&m, "an encrypted image backup");
    disk.index = index_of (CHUNK, &plain, 1);
    refused (&m, "a disk naming a chunk in the clear",
             "is stored in the clear in an encrypted repository");
  }
  {
    struct digest c[2], p[2];
    uint64_t ends[2] = { 1000, 4000 };
    struct manifest m = { .kind = "files", .chunk_size = CHUNK };
    struct manifest_archive *a = &m.archive;

    ctx = sealed;
    c[0] = put (NULL, 1000);
    c[1] = put (NULL, 3000);
    ctx = public;
    p[0] = put (NULL, 1000);
    p[1] = put (NULL, 3000);
    a->present = true;
    a->data_map = a->catalogue_map = map_of (ends, c, 2);
    a->data_size = a->catalogue_size = 4000;
    a->data_chunks = a->catalogue_chunks = 2;
    passes (&m, "an encrypted file backup");
    a->data_map = map_of (ends, p, 2);
    refused (&m, "a stream of chunks in the clear", "data stream: chunk 0 (");
    refused (&m, "a stream of chunks in the clear",
             "is stored in the clear in an encrypted repository");
    /* New chunks, so that the map's content (and so its name) is new:
     * the chunk of the map above would be found stored and kept. */
    ctx = sealed;
    c[0] = put (NULL, 1000);
    c[1] = put (NULL, 3000);
    a->data_map = map_of (ends, c, 2);
    refused (&m, "a stream map sealed", "encrypted where the clear belongs");
  }

  close (worker);
  worker = clear_worker;
  store_end (&st);
  chunk_ctx_free (sealed);
  chunk_ctx_free (public);
  repo_close (repo);
  repo = clear_repo;
  st = clear_st;
}

int
main (void)
{
  const char *dir = test_tmpdir ();
  char repodir[512];
  struct backend_ops no_head;
  const struct backend_ops *no_head_saved;

  snprintf (repodir, sizeof repodir, "%s/repo", dir);
  CHECK (repo_init (repodir, CHUNK, 0, NULL, NULL) == 0, "repo_init: %s",
         get_error ());
  repo = repo_open (repodir);
  CHECK (repo != NULL, "repo_open: %s", get_error ());
  ctx = chunk_ctx_new (CHUNK, 3);
  CHECK (ctx != NULL, "chunk_ctx_new");
  CHECK (store_begin (&st, repo) == 0, "store_begin: %s", get_error ());
  worker = repo_worker_open (repo);
  CHECK (worker >= 0, "worker: %s", get_error ());

  image_cases ();
  stream_cases ();
  /* A backend without chunk_head: whole chunk files are read. */
  no_head_saved = repo->be->ops;
  no_head = *repo->be->ops;
  no_head.chunk_head = NULL;
  repo->be->ops = &no_head;
  image_cases ();
  stream_cases ();

  repo->be->ops = no_head_saved;
  {
    struct chunk_ctx *clear_ctx = ctx;
    encrypted_cases (dir);
    ctx = clear_ctx;
  }

  close (worker);
  store_end (&st);
  chunk_ctx_free (ctx);
  repo_close (repo);
  return 0;
}
