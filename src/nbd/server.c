/* Spawning and stopping qemu-nbd (see server.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "server.h"

#define START_TIMEOUT_MS 30000
/* How long qemu-nbd gets to exit after SIGTERM before SIGKILL. */
#define STOP_TIMEOUT_MS 10000

int
image_detect_format (const char *path, const char **format)
{
  CLEANUP_CLOSE int fd = open (path, O_RDONLY | O_CLOEXEC);
  unsigned char magic[4] = { 0 };
  struct stat st;

  if (fd == -1) {
    set_error (errno, "%s", path);
    return -1;
  }
  if (fstat (fd, &st) == -1) {
    set_error (errno, "%s", path);
    return -1;
  }
  if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
    set_error (0, "%s: not a disk image file or block device", path);
    return -1;
  }
  if (pread (fd, magic, 4, 0) == 4 && memcmp (magic, "QFI\xfb", 4) == 0)
    *format = "qcow2";
  else
    *format = "raw";
  return 0;
}

/* The first line qemu-nbd wrote to its log, for the error message. */
static void
server_failure (struct nbd_server *srv, const char *image)
{
  CLEANUP_FREE char *log = NULL, *path = NULL;
  size_t len;
  char *nl;

  if (asprintf (&path, "%s/log", srv->dir) != -1
      && read_file (path, 1 << 16, &log, &len) == 0 && len > 0) {
    nl = strchr (log, '\n');
    if (nl)
      *nl = '\0';
    set_error (0, "%s: %s", image, log);
  }
  else
    set_error (0, "%s: qemu-nbd failed to start", image);
}

int
nbd_server_start (struct nbd_server *srv, const char *image,
                  const char *format, bool readonly, int connections)
{
  return nbd_server_start_snapshot (srv, image, format, readonly,
                                    connections, NULL);
}

static int start (struct nbd_server *srv, const char *image,
                  const char *format, bool readonly, bool direct,
                  int connections, const char *snapshot, const char *bitmap);

int
nbd_server_start_snapshot (struct nbd_server *srv, const char *image,
                           const char *format, bool readonly,
                           int connections, const char *snapshot)
{
  /* I/O goes around the page cache where the file system allows it
   * (tmpfs and some FUSE file systems do not): a backup or restore
   * touches each block once, and the page cache would only cost a copy
   * and evict what the host's VMs need. */
  if (start (srv, image, format, readonly, true, connections, snapshot,
             NULL) == 0)
    return 0;
  return start (srv, image, format, readonly, false, connections, snapshot,
                NULL);
}

int
nbd_server_start_dirty (struct nbd_server *srv, const char *image,
                        const char *format, const char *bitmap)
{
  if (start (srv, image, format, true, true, 1, NULL, bitmap) == 0)
    return 0;
  return start (srv, image, format, true, false, 1, NULL, bitmap);
}

static int
start (struct nbd_server *srv, const char *image, const char *format,
       bool readonly, bool direct, int connections, const char *snapshot,
       const char *bitmap)
{
  const char *tmp = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
  char shared[32], logpath[4096], snaparg[1024], opts[8192];
  struct timespec delay = { 0, 10 * 1000 * 1000 };
  const char *argv[16];
  int status, argc = 0;

  memset (srv, 0, sizeof *srv);
  srv->pid = -1;
  if (asprintf (&srv->dir, "%s/vmbackup-nbd-XXXXXX", tmp) == -1
      || mkdtemp (srv->dir) == NULL) {
    set_error (errno, "create temporary directory in %s", tmp);
    free (srv->dir);
    srv->dir = NULL;
    return -1;
  }
  if (asprintf (&srv->sock, "%s/sock", srv->dir) == -1) {
    set_error (errno, "asprintf");
    nbd_server_stop (srv);
    return -1;
  }
  snprintf (shared, sizeof shared, "--shared=%d", connections);
  snprintf (logpath, sizeof logpath, "%s/log", srv->dir);
  argv[argc++] = "qemu-nbd";
  argv[argc++] = "--persistent";
  if (readonly)
    argv[argc++] = "--read-only";
  argv[argc++] = direct ? "--cache=none" : "--cache=writeback";
  argv[argc++] = "--socket";
  argv[argc++] = srv->sock;
  argv[argc++] = shared;
  if (bitmap) {
    argv[argc++] = "-B";
    argv[argc++] = bitmap;
  }
  if (snapshot) {
    /* An internal snapshot's clusters never change while it exists, so
     * reading them beside a running guest, without the image lock it
     * holds, is safe.  qemu-nbd 7.2 has no --force-share: the lock is
     * turned off through the image options. */
    size_t o = snprintf (opts, sizeof opts, "driver=%s,file.driver=file,"
                         "file.locking=off,file.filename=", format);
    for (const char *c = image; *c && o + 3 < sizeof opts; c++) {
      if (*c == ',')
        opts[o++] = ',';        /* a comma in a path is doubled */
      opts[o++] = *c;
    }
    opts[o] = '\0';
    {
      size_t k = snprintf (snaparg, sizeof snaparg, "snapshot.name=");
      for (const char *c = snapshot; *c && k + 3 < sizeof snaparg; c++) {
        if (*c == ',')
          snaparg[k++] = ',';   /* QemuOpts: a comma is doubled */
        snaparg[k++] = *c;
      }
      snaparg[k] = '\0';
    }
    argv[argc++] = "-l";
    argv[argc++] = snaparg;
    argv[argc++] = "--image-opts";
    argv[argc++] = opts;
  }
  else {
    argv[argc++] = "-f";
    argv[argc++] = format;
    argv[argc++] = image;
  }
  argv[argc] = NULL;

  srv->pid = fork ();
  if (srv->pid == -1) {
    set_error (errno, "fork");
    nbd_server_stop (srv);
    return -1;
  }
  if (srv->pid == 0) {
    int null = open ("/dev/null", O_RDWR);
    int log = open (logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    /* qemu-nbd must not outlive us, even if we are SIGKILLed: it would
     * keep the image locked. */
    prctl (PR_SET_PDEATHSIG, SIGTERM);
    dup2 (null, 0);
    dup2 (log, 1);
    dup2 (log, 2);
    setpgid (0, 0);             /* a terminal's ^C goes to us, not it */
    execvp ("qemu-nbd", (char **) argv);
    fprintf (stderr, "cannot run qemu-nbd: %s\n", strerror (errno));
    _exit (127);
  }

  for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
    if (access (srv->sock, F_OK) == 0)
      return 0;
    if (waitpid (srv->pid, &status, WNOHANG) == srv->pid) {
      srv->pid = -1;
      server_failure (srv, image);
      nbd_server_stop (srv);
      return -1;
    }
    nanosleep (&delay, NULL);
  }
  set_error (0, "%s: qemu-nbd did not start within %d s", image,
             START_TIMEOUT_MS / 1000);
  nbd_server_stop (srv);
  return -1;
}

void
nbd_server_stop (struct nbd_server *srv)
{
  char path[4096];

  if (srv->pid > 0) {
    struct timespec delay = { .tv_nsec = 10 * 1000 * 1000 };
    int waited = 0;

    /* qemu-nbd can miss a SIGTERM that arrives while it tears down the
     * connection we just closed, and then waits for a client forever
     * (seen under load: a backup and a restore hung here).  Nothing is
     * lost by killing it: we are done with the export. */
    kill (srv->pid, SIGTERM);
    while (waitpid (srv->pid, NULL, WNOHANG) == 0) {
      if (waited >= STOP_TIMEOUT_MS) {
        kill (srv->pid, SIGKILL);
        waitpid (srv->pid, NULL, 0);
        break;
      }
      nanosleep (&delay, NULL);
      waited += 10;
    }
  }
  srv->pid = -1;
  if (srv->dir) {
    snprintf (path, sizeof path, "%s/log", srv->dir);
    unlink (path);
    if (srv->sock)
      unlink (srv->sock);
    rmdir (srv->dir);
  }
  free (srv->sock);
  free (srv->dir);
  srv->sock = srv->dir = NULL;
}

struct nbd_handle *
nbd_open_unix (const char *sock, bool want_allocation)
{
  return nbd_open_unix_export (sock, NULL, want_allocation, NULL);
}

static struct nbd_handle *
open_once (const char *sock, const char *export, bool want_allocation,
           const char *dirty_context, bool *refused)
{
  struct nbd_handle *h = nbd_create ();

  if (h == NULL) {
    set_error (0, "libnbd: %s", nbd_get_error ());
    return NULL;
  }
  if ((export && nbd_set_export_name (h, export) == -1)
      || (want_allocation && nbd_add_meta_context (h, "base:allocation") == -1)
      || (dirty_context && nbd_add_meta_context (h, dirty_context) == -1)
      || nbd_connect_unix (h, sock) == -1) {
    *refused = nbd_get_errno () == ECONNREFUSED;
    set_error (0, "connect to NBD server: %s", nbd_get_error ());
    nbd_close (h);
    return NULL;
  }
  if (dirty_context && nbd_can_meta_context (h, dirty_context) != 1) {
    set_error (0, "NBD server does not offer %s", dirty_context);
    nbd_close (h);
    return NULL;
  }
  return h;
}

struct nbd_handle *
nbd_open_unix_export (const char *sock, const char *export,
                      bool want_allocation, const char *dirty_context)
{
  struct timespec delay = { .tv_nsec = 50 * 1000 * 1000 };
  struct nbd_handle *h;
  bool refused = false;

  /* qemu-nbd's socket file appears at bind(), a moment before it
   * listens: under load a connection can land in between and be
   * refused.  Try again for a few seconds. */
  for (int tries = 0; tries < 100; tries++) {
    refused = false;
    h = open_once (sock, export, want_allocation, dirty_context, &refused);
    if (h || !refused)
      break;
    nanosleep (&delay, NULL);
  }
  return h;
}
