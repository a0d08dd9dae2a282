/* qemu-nbd started with N connections (restore's workers write through
 * several at once): each of the N hands out a working handle, all at
 * the same time, what one writes another reads, an (N+1)th is refused
 * with an error, and nothing is left in $TMPDIR while it serves (the
 * socket has no name once the connections are made).  Skipped without
 * qemu-nbd. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "nbd/server.h"
#include "test.h"

#define N 4
#define SIZE (1 << 20)

static int
entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  int n = 0;

  CHECK (d != NULL, "opendir %s", dir);
  while ((e = readdir (d)) != NULL)
    if (strncmp (e->d_name, "vmbackup-nbd-", 13) == 0)
      n++;
  closedir (d);
  return n;
}

int
main (void)
{
  const char *dir = test_tmpdir ();
  struct nbd_handle *h[N];
  struct nbd_server srv;
  static char buf[4096], back[4096];
  char img[512];
  int fd;

  if (system ("command -v qemu-nbd >/dev/null") != 0)
    return 77;
  setenv ("TMPDIR", dir, 1);
  snprintf (img, sizeof img, "%s/img.raw", dir);
  fd = open (img, O_RDWR | O_CREAT | O_EXCL, 0600);
  CHECK (fd >= 0 && ftruncate (fd, SIZE) == 0, "create %s", img);
  close (fd);

  CHECK (nbd_server_start (&srv, img, "raw", false, N) == 0, "start: %s",
         get_error ());
  CHECK (entries (dir) == 0, "a vmbackup-nbd-* directory while serving");
  for (int i = 0; i < N; i++) {
    h[i] = nbd_server_connect (&srv, false, NULL);
    CHECK (h[i] != NULL, "connection %d: %s", i, get_error ());
  }
  CHECK (nbd_server_connect (&srv, false, NULL) == NULL,
         "an extra connection");
  CHECK (strstr (get_error (), "connections are in use") != NULL, "error: %s",
         get_error ());
  /* Every connection is served at once: each writes its own block and
   * the next one reads it back. */
  for (int i = 0; i < N; i++) {
    memset (buf, 'a' + i, sizeof buf);
    CHECK (nbd_pwrite (h[i], buf, sizeof buf, i * sizeof buf, 0) == 0,
           "write on %d: %s", i, nbd_get_error ());
  }
  for (int i = 0; i < N; i++) {
    memset (buf, 'a' + i, sizeof buf);
    CHECK (nbd_pread (h[(i + 1) % N], back, sizeof back, i * sizeof back, 0)
             == 0,
           "read on %d: %s", (i + 1) % N, nbd_get_error ());
    CHECK (memcmp (buf, back, sizeof buf) == 0, "block %d differs", i);
  }
  for (int i = 0; i < N; i++) {
    nbd_shutdown (h[i], 0);
    nbd_close (h[i]);
  }
  nbd_server_stop (&srv);

  /* Started with more than it may have: an error, nothing left. */
  CHECK (nbd_server_start (&srv, img, "raw", true,
                           NBD_SERVER_MAX_CONNECTIONS + 1)
           == -1,
         "start with too many connections");
  CHECK (entries (dir) == 0, "a vmbackup-nbd-* directory after an error");
  return 0;
}
