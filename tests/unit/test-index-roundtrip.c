/* An index written slot by slot, in any order, reads back slot for slot;
 * slots never written read as zero (hole) chunks; the reader refuses a
 * truncated or edited index file. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "repo/index.h"
#include "repo/repo.h"
#include "test.h"

#define CHUNK (64 * 1024)
#define DISK_SIZE (100ULL * CHUNK + 4096) /* 101 chunks, last partial */
#define COUNT 101

static struct digest want[COUNT];

static void
reads_back (struct repo *repo, const struct digest *id)
{
  struct index_reader r;
  struct digest d;

  CHECK (index_reader_open (&r, repo, id) == 0, "reader open: %s",
         get_error ());
  CHECK (r.hdr.chunk_size == CHUNK && r.hdr.disk_size == DISK_SIZE
           && r.hdr.chunk_count == COUNT,
         "header %u %llu %llu", r.hdr.chunk_size,
         (unsigned long long) r.hdr.disk_size,
         (unsigned long long) r.hdr.chunk_count);
  for (uint64_t i = 0; i < COUNT; i++) {
    CHECK (index_reader_get (&r, i, &d) == 0, "get %llu: %s",
           (unsigned long long) i, get_error ());
    CHECK (digest_cmp (&d, &want[i]) == 0, "slot %llu differs",
           (unsigned long long) i);
  }
  CHECK (index_reader_get (&r, COUNT, &d) == -1, "slot past the end read");
  index_reader_close (&r);
}

/* The reader must refuse the file at path after damage. */
static void
refuses (struct repo *repo, const struct digest *id, const char *what)
{
  struct index_reader r;

  set_error (0, "no error set");
  CHECK (index_reader_open (&r, repo, id) == -1, "%s: index opened", what);
  CHECK (r.fd == -1, "%s: failed open left fd %d", what, r.fd);
}

int
main (void)
{
  const char *dir = test_tmpdir ();
  char repodir[512], hex[DIGEST_HEX_LEN + 1], path[1024];
  struct repo *repo;
  struct index_writer w;
  struct digest id, id2;
  char *orig;
  size_t len;

  snprintf (repodir, sizeof repodir, "%s/repo", dir);
  CHECK (repo_init (repodir, CHUNK, 0, NULL, NULL) == 0, "repo_init: %s",
         get_error ());
  repo = repo_open (repodir);
  CHECK (repo != NULL, "repo_open: %s", get_error ());

  /* Every third slot stays a hole; the rest are written backwards, as
   * out-of-order worker threads would. */
  for (int i = 0; i < COUNT; i++)
    if (i % 3)
      test_fill_random (want[i].b, DIGEST_LEN);
  CHECK (index_writer_open (&w, repo, DISK_SIZE) == 0, "writer open: %s",
         get_error ());
  CHECK (w.hdr.chunk_count == COUNT, "chunk count %llu",
         (unsigned long long) w.hdr.chunk_count);
  for (int i = COUNT - 1; i >= 0; i--)
    if (i % 3)
      CHECK (index_writer_set (&w, i, &want[i]) == 0, "set %d: %s", i,
             get_error ());
  CHECK (index_writer_set (&w, COUNT, &want[1]) == -1,
         "slot past the end set");
  CHECK (index_writer_commit (&w, &id) == 0, "commit: %s", get_error ());
  reads_back (repo, &id);

  /* The same content gives the same name (an unchanged disk). */
  CHECK (index_writer_open (&w, repo, DISK_SIZE) == 0, "writer open: %s",
         get_error ());
  for (int i = 0; i < COUNT; i++)
    if (i % 3)
      CHECK (index_writer_set (&w, i, &want[i]) == 0, "set: %s", get_error ());
  CHECK (index_writer_commit (&w, &id2) == 0, "commit: %s", get_error ());
  CHECK (digest_cmp (&id, &id2) == 0, "identical index named differently");
  reads_back (repo, &id);

  /* An aborted writer leaves nothing behind in tmp/. */
  CHECK (index_writer_open (&w, repo, DISK_SIZE) == 0, "writer open: %s",
         get_error ());
  index_writer_abort (&w);
  {
    char tmp[600];
    DIR *d;
    struct dirent *e;
    snprintf (tmp, sizeof tmp, "%s/tmp", repodir);
    d = opendir (tmp);
    CHECK (d != NULL, "opendir %s: %m", tmp);
    while ((e = readdir (d)) != NULL)
      CHECK (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0,
             "abort left tmp/%s", e->d_name);
    closedir (d);
  }

  /* An id that is not there is "missing". */
  id2.b[0] ^= 1;
  refuses (repo, &id2, "missing index");
  CHECK (strstr (get_error (), "missing") != NULL, "error \"%s\"",
         get_error ());

  digest_to_hex (&id, hex);
  snprintf (path, sizeof path, "%s/indexes/%s.idx", repodir, hex);
  CHECK (read_file (path, 1 << 20, &orig, &len) == 0, "read: %s",
         get_error ());
  CHECK (len == INDEX_HEADER_LEN + COUNT * DIGEST_LEN + DIGEST_LEN,
         "index is %zu bytes", len);

  /* Truncated at a spread of lengths, then restored. */
  {
    size_t cuts[] = { 0, 1, 63, 64, 95, 96, len - 33, len - 32, len - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
      char what[64];
      CHECK (write_file_atomic (path, orig, cuts[i]) == 0, "write: %s",
             get_error ());
      snprintf (what, sizeof what, "truncated to %zu", cuts[i]);
      refuses (repo, &id, what);
      CHECK (strstr (get_error (), "truncated") != NULL,
             "%s: error \"%s\" does not say so", what, get_error ());
      CHECK (strncmp (get_error (), "index ", 6) == 0
               && strncmp (get_error () + 6, hex, 16) == 0,
             "%s: error \"%s\" does not name the index", what, get_error ());
    }
  }
  /* One byte appended, and one digest edited in place. */
  {
    unsigned char *grown = calloc (1, len + 1);
    CHECK (grown != NULL, "calloc");
    memcpy (grown, orig, len);
    CHECK (write_file_atomic (path, grown, len + 1) == 0, "write");
    refuses (repo, &id, "one byte appended");
    grown[INDEX_HEADER_LEN + 5] ^= 1;
    CHECK (write_file_atomic (path, grown, len) == 0, "write");
    refuses (repo, &id, "digest edited");
    CHECK (strstr (get_error (), "does not match") != NULL, "error \"%s\"",
           get_error ());
    free (grown);
  }
  CHECK (write_file_atomic (path, orig, len) == 0, "write");
  reads_back (repo, &id);

  free (orig);
  repo_close (repo);
  return 0;
}
