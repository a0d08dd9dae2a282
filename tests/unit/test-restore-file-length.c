/* A configuration file kept with a VM backup whose index names a whole
 * chunk of another length (a forged or wrong index) is refused by
 * restore with a line saying so, instead of coming back with the wrong
 * bytes; the backup that stored the chunk still restores. */
#include <string.h>

#include "common/error.h"
#include "repo/backup_file.h"
#include "repo/index.h"
#include "repo/repo.h"
#include "repo/restore_file.h"
#include "repo/store.h"
#include "test.h"

#define CHUNK (64 * 1024)

int
main (void)
{
  static unsigned char data[CHUNK];
  char repodir[512];
  struct repo *repo;
  struct store store;
  struct index_reader ir;
  struct index_writer w;
  struct digest real, forged, first;
  struct manifest_file f = { .role = "nvram", .size = CHUNK };
  char *buf = NULL;
  size_t len;

  snprintf (repodir, sizeof repodir, "%s/repo", test_tmpdir ());
  CHECK (repo_init (repodir, CHUNK, 0, NULL, NULL) == 0, "repo_init: %s",
         get_error ());
  repo = repo_open (repodir);
  CHECK (repo != NULL, "repo_open: %s", get_error ());

  test_fill_random (data, sizeof data);
  CHECK (store_begin (&store, repo) == 0, "store: %s", get_error ());
  CHECK (backup_buffer (&store, 1, data, sizeof data, &real) == 0,
         "backup_buffer: %s", get_error ());
  CHECK (store_finish (&store) == 0, "finish: %s", get_error ());
  store_end (&store);

  /* The forged index: a 1-byte file whose one chunk is the real one. */
  CHECK (index_reader_open (&ir, repo, &real) == 0
           && index_reader_get (&ir, 0, &first) == 0,
         "read index: %s", get_error ());
  index_reader_close (&ir);
  CHECK (index_writer_open (&w, repo, 1) == 0
           && index_writer_set (&w, 0, &first) == 0
           && index_writer_commit (&w, &forged) == 0,
         "forge: %s", get_error ());

  f.index = forged;
  f.size = 1;
  CHECK (restore_file_buffer (repo, &f, 1 << 20, &buf, &len) == -1,
         "a 65536-byte chunk restored as a 1-byte file");
  CHECK (strstr (get_error (),
                 "file nvram offset 0: chunk has 65536 bytes, the backup's "
                 "index expects 1")
           != NULL,
         "error \"%s\"", get_error ());

  f.index = real;
  f.size = CHUNK;
  CHECK (restore_file_buffer (repo, &f, 1 << 20, &buf, &len) == 0,
         "the real file: %s", get_error ());
  CHECK (len == CHUNK && memcmp (buf, data, CHUNK) == 0, "real file differs");
  free (buf);
  repo_close (repo);
  return 0;
}
