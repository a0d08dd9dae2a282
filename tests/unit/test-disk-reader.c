/* The disk reader behind the NBD export (engine/disk_reader.h): reads
 * at any offset and length return the backup's bytes; each chunk is
 * decoded once while cached, and the cache holds no more chunks than
 * its size allows (least recently used evicted); threads reading one
 * chunk at once decode it once; extents come from the index; a damaged
 * chunk fails its reads every time (never cached) while the others
 * read. */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "engine/disk_reader.h"
#include "repo/backup_file.h"
#include "repo/chunk.h"
#include "repo/index.h"
#include "repo/repo.h"
#include "repo/store.h"
#include "test.h"

#define CHUNK (64 * 1024)
#define NCHUNKS 11 /* the last one half full */
#define SIZE ((NCHUNKS - 1) * CHUNK + CHUNK / 2)
#define THREADS 8

static unsigned char data[SIZE];
static struct disk_reader *shared;
static pthread_barrier_t barrier;

static void
check_read (struct disk_reader *r, uint64_t off, size_t len)
{
  static unsigned char buf[SIZE];

  CHECK (disk_reader_read (r, buf, len, off) == 0, "read %zu at %llu: %s", len,
         (unsigned long long) off, get_error ());
  CHECK (memcmp (buf, data + off, len) == 0, "read %zu at %llu: wrong bytes",
         len, (unsigned long long) off);
}

static void *
same_chunk (void *opaque)
{
  unsigned char buf[4096];

  pthread_barrier_wait (&barrier);
  CHECK (disk_reader_read (shared, buf, sizeof buf, 5 * CHUNK + 100) == 0,
         "thread read: %s", get_error ());
  CHECK (memcmp (buf, data + 5 * CHUNK + 100, sizeof buf) == 0,
         "thread read wrong bytes");
  return NULL;
}

static void *
random_reads (void *opaque)
{
  uint64_t seed = (uintptr_t) opaque * 7919 + 1;
  unsigned char *buf = malloc (3 * CHUNK);

  for (int i = 0; i < 300; i++) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t off = (seed >> 20) % SIZE;
    size_t len = (seed >> 45) % (3 * CHUNK) + 1;
    if (len > SIZE - off)
      len = SIZE - off;
    CHECK (disk_reader_read (shared, buf, len, off) == 0, "read: %s",
           get_error ());
    CHECK (memcmp (buf, data + off, len) == 0, "concurrent read wrong at %llu",
           (unsigned long long) off);
  }
  free (buf);
  return NULL;
}

struct extent {
  uint64_t off, len;
  bool zero;
};

static int
collect (void *opaque, uint64_t off, uint64_t len, bool zero)
{
  struct extent **e = opaque;

  (*e)->off = off;
  (*e)->len = len;
  (*e)->zero = zero;
  (*e)++;
  return 0;
}

int
main (void)
{
  char repodir[512], path[1024], rel[256];
  struct manifest_disk disk = { .name = "vda", .size = SIZE };
  struct disk_reader_stats st;
  struct index_reader ir;
  struct store store;
  struct repo *repo;
  struct digest d;
  struct disk_reader *r;
  pthread_t t[THREADS];
  unsigned char buf[4096];

  snprintf (repodir, sizeof repodir, "%s/repo", test_tmpdir ());
  CHECK (repo_init (repodir, CHUNK, 0, NULL, NULL) == 0, "repo_init: %s",
         get_error ());
  repo = repo_open (repodir);
  CHECK (repo != NULL, "repo_open: %s", get_error ());
  test_fill_random (data, sizeof data);
  memset (data + 2 * CHUNK, 0, 2 * CHUNK); /* chunks 2 and 3: holes */
  CHECK (store_begin (&store, repo) == 0, "store: %s", get_error ());
  CHECK (backup_buffer (&store, 1, data, SIZE, &disk.index) == 0,
         "backup_buffer: %s", get_error ());
  CHECK (store_finish (&store) == 0, "finish: %s", get_error ());
  store_end (&store);

  /* Whole reads, in 4 KiB steps and at odd places; a 3-chunk cache. */
  r = disk_reader_open (repo, &disk, 3 * CHUNK);
  CHECK (r != NULL, "open: %s", get_error ());
  CHECK (disk_reader_size (r) == SIZE, "size %llu",
         (unsigned long long) disk_reader_size (r));
  for (uint64_t off = 0; off < SIZE; off += 4096)
    check_read (r, off, SIZE - off < 4096 ? SIZE - off : 4096);
  check_read (r, 0, SIZE);
  check_read (r, CHUNK - 1, 2);
  check_read (r, SIZE - 1, 1);
  disk_reader_get_stats (r, &st);
  CHECK (st.capacity == 3 && st.cached <= 3, "cache holds %zu of %zu",
         st.cached, st.capacity);
  /* 9 chunks with data, read in order: each decoded once in the first
   * pass, again in the whole read (evicted since), then chunks 0 and 1
   * for the read across them; chunk 10 was still cached. */
  CHECK (st.loads == 9 + 9 + 2, "loads %llu",
         (unsigned long long) st.loads);
  /* Chunk 10 is cached: reading it again decodes nothing. */
  check_read (r, SIZE - 100, 100);
  disk_reader_get_stats (r, &st);
  CHECK (st.loads == 20, "a cached chunk was decoded again");

  /* Beyond the end. */
  CHECK (disk_reader_read (r, buf, 2, SIZE - 1) == -1, "read past the end");

  /* Extents from the index. */
  struct extent ext[8], *e = ext;
  CHECK (disk_reader_extents (r, 0, SIZE, collect, &e) == 0, "extents: %s",
         get_error ());
  CHECK (e - ext == 3, "%td extents", e - ext);
  CHECK (ext[0].off == 0 && ext[0].len == 2 * CHUNK && !ext[0].zero,
         "extent 0");
  CHECK (ext[1].off == 2 * CHUNK && ext[1].len == 2 * CHUNK && ext[1].zero,
         "extent 1");
  CHECK (ext[2].off == 4 * CHUNK && ext[2].len == SIZE - 4 * CHUNK
           && !ext[2].zero,
         "extent 2");
  e = ext;
  CHECK (disk_reader_extents (r, 2 * CHUNK + 10, 100, collect, &e) == 0
           && e - ext == 1 && ext[0].off == 2 * CHUNK + 10 && ext[0].len == 100
           && ext[0].zero,
         "extent inside a hole");
  disk_reader_close (r);

  /* Threads reading one chunk at once decode it once. */
  shared = disk_reader_open (repo, &disk, 2 * CHUNK);
  CHECK (shared != NULL, "open: %s", get_error ());
  pthread_barrier_init (&barrier, NULL, THREADS);
  for (int i = 0; i < THREADS; i++)
    pthread_create (&t[i], NULL, same_chunk, NULL);
  for (int i = 0; i < THREADS; i++)
    pthread_join (t[i], NULL);
  disk_reader_get_stats (shared, &st);
  CHECK (st.loads == 1, "%d threads decoded one chunk %llu times", THREADS,
         (unsigned long long) st.loads);
  /* Many threads, random ranges, a cache smaller than they need. */
  for (int i = 0; i < THREADS; i++)
    pthread_create (&t[i], NULL, random_reads, (void *) (uintptr_t) i);
  for (int i = 0; i < THREADS; i++)
    pthread_join (t[i], NULL);
  disk_reader_get_stats (shared, &st);
  CHECK (st.cached <= 2, "cache grew to %zu", st.cached);
  disk_reader_close (shared);

  /* Chunk 4 damaged: its reads fail, every time; the others read. */
  CHECK (index_reader_open (&ir, repo, &disk.index) == 0
           && index_reader_get (&ir, 4, &d) == 0,
         "index: %s", get_error ());
  index_reader_close (&ir);
  chunk_relpath (&d, rel, sizeof rel);
  snprintf (path, sizeof path, "%s/%s", repodir, rel);
  int fd = open (path, O_WRONLY);
  CHECK (fd >= 0, "open %s: %m", path);
  CHECK (pwrite (fd, "\xff\xfe", 2, 1000) == 2, "damage: %m");
  close (fd);
  r = disk_reader_open (repo, &disk, 3 * CHUNK);
  CHECK (r != NULL, "open: %s", get_error ());
  for (int i = 0; i < 2; i++) {
    CHECK (disk_reader_read (r, buf, 10, 4 * CHUNK + 5) == -1,
           "damaged chunk read");
    CHECK (get_error_kind () == ERROR_DAMAGED, "kind %d: %s",
           get_error_kind (), get_error ());
    CHECK (strstr (get_error (), "disk vda offset 262144") != NULL,
           "error \"%s\"", get_error ());
  }
  CHECK (disk_reader_read (r, buf, 10, 4 * CHUNK - 5) == -1,
         "a read spanning the damaged chunk succeeded");
  check_read (r, 5 * CHUNK, CHUNK);
  check_read (r, 0, 4 * CHUNK);
  disk_reader_close (r);
  repo_close (repo);
  return 0;
}
