/* Spawning and stopping qemu-nbd (see server.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "server.h"
#include "unnamed_socket.h"

#define START_TIMEOUT_MS 30000
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
  char log[4096];
  ssize_t n = srv->log_fd >= 0 ? pread (srv->log_fd, log, sizeof log - 1, 0)
                               : -1;
  char *nl;

  if (n > 0) {
    log[n] = '\0';
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
  return nbd_server_start_snapshot (srv, image, format, readonly, connections,
                                    NULL);
}

static int start (struct nbd_server *srv, const char *image,
                  const char *format, bool readonly, bool direct,
                  int connections, const char *snapshot, const char *bitmap);

int
nbd_server_start_snapshot (struct nbd_server *srv, const char *image,
                           const char *format, bool readonly, int connections,
                           const char *snapshot)
{
  /* I/O goes around the page cache where the file system allows it
   * (tmpfs and some FUSE file systems do not): a backup or restore
   * touches each block once, and the page cache would only cost a copy
   * and evict what the host's VMs need. */
  if (start (srv, image, format, readonly, true, connections, snapshot, NULL)
      == 0)
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

/* Connect to a UNIX socket (a path, or "@NAME" in the abstract
 * namespace); -1 with the error set. */
static int
connect_unix (const char *sock)
{
  struct sockaddr_un sa;
  socklen_t len;
  size_t n = strlen (sock);
  int fd;

  memset (&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (n >= sizeof sa.sun_path) {
    set_error (ENAMETOOLONG, "%s", sock);
    return -1;
  }
  memcpy (sa.sun_path, sock, n);
  if (sock[0] == '@')
    sa.sun_path[0] = '\0';
  len = offsetof (struct sockaddr_un, sun_path) + n;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1 || connect (fd, (struct sockaddr *) &sa, len) == -1) {
    set_error (errno, "connect to NBD server %s", sock);
    if (fd != -1)
      close (fd);
    return -1;
  }
  return fd;
}

/* qemu-nbd is ready when it sends the NBD greeting on our first
 * connection; if it exits first (a locked or unreadable image), the
 * connection ends without one.  The greeting is only peeked at: libnbd
 * reads it when the connection is handed over. */
static bool
server_greets (int fd)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  struct timespec delay = { .tv_nsec = 1000 * 1000 };
  char magic[8];
  int waited = 0;

  while (waited < START_TIMEOUT_MS) {
    ssize_t r;
    if (poll (&pfd, 1, START_TIMEOUT_MS - waited) != 1)
      return false;
    r = recv (fd, magic, sizeof magic, MSG_PEEK);
    if (r <= 0)
      return false;
    if ((size_t) r == sizeof magic)
      return memcmp (magic, "NBDMAGIC", 8) == 0;
    /* Part of it: readable again at once, so wait for the rest. */
    nanosleep (&delay, NULL);
    waited++;
  }
  return false;
}

static int
start (struct nbd_server *srv, const char *image, const char *format,
       bool readonly, bool direct, int connections, const char *snapshot,
       const char *bitmap)
{
  char shared[32], snaparg[1024], opts[8192], dir[PATH_MAX];
  const char *argv[16];
  pid_t parent = getpid ();
  int argc = 0, sp[2] = { -1, -1 };

  memset (srv, 0, sizeof *srv);
  srv->pid = -1;
  for (int i = 0; i < NBD_SERVER_MAX_CONNECTIONS; i++)
    srv->conns[i] = -1;
  if (connections < 1 || connections > NBD_SERVER_MAX_CONNECTIONS) {
    set_error (EINVAL, "qemu-nbd: %d connections", connections);
    return -1;
  }
  if (unnamed_socket_template (dir, sizeof dir) == -1)
    return -1;
  srv->log_fd = fd_above_stdio (memfd_create ("qemu-nbd-log", MFD_CLOEXEC));
  if (srv->log_fd == -1) {
    set_error (errno, "memfd_create");
    return -1;
  }
  /* The way the child hands us the connections it makes. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1
      || (sp[0] = fd_above_stdio (sp[0])) == -1
      || (sp[1] = fd_above_stdio (sp[1])) == -1) {
    set_error (errno, "socketpair");
    goto fail;
  }
  snprintf (shared, sizeof shared, "--shared=%d", connections);
  argv[argc++] = "qemu-nbd";
  argv[argc++] = "--persistent";
  if (readonly)
    argv[argc++] = "--read-only";
  argv[argc++] = direct ? "--cache=none" : "--cache=writeback";
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
    size_t o = snprintf (opts, sizeof opts,
                         "driver=%s,file.driver=file,"
                         "file.locking=off,file.filename=",
                         format);
    for (const char *c = image; *c && o + 3 < sizeof opts; c++) {
      if (*c == ',')
        opts[o++] = ','; /* a comma in a path is doubled */
      opts[o++] = *c;
    }
    opts[o] = '\0';
    {
      size_t k = snprintf (snaparg, sizeof snaparg, "snapshot.name=");
      for (const char *c = snapshot; *c && k + 3 < sizeof snaparg; c++) {
        if (*c == ',')
          snaparg[k++] = ','; /* QemuOpts: a comma is doubled */
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
    goto fail;
  }
  if (srv->pid == 0) {
    char pidenv[32];
    int conns[NBD_SERVER_MAX_CONNECTIONS], null, listen_fd;

    /* Our own process group: a terminal's ^C goes to vmbackup, not
     * here, and a signal to vmbackup's group does not stop us halfway
     * through the socket's directory. */
    setpgid (0, 0);
    dup2 (srv->log_fd, 1);
    dup2 (srv->log_fd, 2);
    /* Before the parent-death signal is armed: a parent killed now
     * does not keep us from removing the directory again. */
    listen_fd = unnamed_socket_listen (dir, connections, conns);
    if (listen_fd == -1) {
      /* may print: a forked child's only channel is the log */
      fprintf (stderr, "cannot make qemu-nbd's socket in %.*s: %s\n",
               (int) (strrchr (dir, '/') - dir), dir, strerror (errno));
      _exit (127);
    }
    if (unnamed_socket_send (sp[1], conns, connections) == -1)
      _exit (1);
    for (int i = 0; i < connections; i++)
      close (conns[i]);
    /* qemu-nbd must not outlive us, even if we are SIGKILLed: it would
     * keep the image locked.  The death signal is only armed from here
     * on: a parent killed since fork() is checked for by hand.  SIGKILL,
     * because qemu-nbd can miss a SIGTERM while it starts or tears down
     * a connection (qemu-nbd processes of killed backups were found
     * running under init), and with its parent gone nobody reads what it
     * serves. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
      _exit (1);
    null = open ("/dev/null", O_RDWR);
    dup2 (null, 0);
    /* systemd socket activation: qemu-nbd serves the socket we made
     * as fd 3 instead of creating one in the file system. */
    if (listen_fd == 3)
      fcntl (3, F_SETFD, 0);
    else
      dup2 (listen_fd, 3);
    snprintf (pidenv, sizeof pidenv, "%d", (int) getpid ());
    setenv ("LISTEN_PID", pidenv, 1);
    setenv ("LISTEN_FDS", "1", 1);
    unsetenv ("LISTEN_FDNAMES");
    execvp ("qemu-nbd", (char **) argv);
    /* may print: a forked child's only channel is the log */
    fprintf (stderr, "cannot run qemu-nbd: %s\n", strerror (errno));
    _exit (127);
  }
  close (sp[1]);
  sp[1] = -1;
  if (unnamed_socket_recv (sp[0], srv->conns, connections) == 0)
    srv->nconns = connections;
  close (sp[0]);
  sp[0] = -1;

  if (srv->nconns > 0 && server_greets (srv->conns[0]))
    return 0;
  if (waitpid (srv->pid, NULL, WNOHANG) == srv->pid)
    srv->pid = -1; /* reaped: its pid may be reused, never signal it */
  else {
    /* Still running but silent: give it a moment to write why. */
    struct timespec delay = { 0, 100 * 1000 * 1000 };
    nanosleep (&delay, NULL);
  }
  server_failure (srv, image);
fail:
  if (sp[0] != -1)
    close (sp[0]);
  if (sp[1] != -1)
    close (sp[1]);
  nbd_server_stop (srv);
  return -1;
}

void
nbd_server_stop (struct nbd_server *srv)
{
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
  if (srv->log_fd > 2)
    close (srv->log_fd);
  srv->log_fd = -1;
  for (int i = 0; i < srv->nconns; i++)
    if (srv->conns[i] > 2)
      close (srv->conns[i]);
  srv->nconns = srv->next = 0;
}

/* An NBD handle on the connected socket fd, which it takes over. */
static struct nbd_handle *
open_socket (int fd, const char *export, bool want_allocation,
             const char *dirty_context)
{
  struct nbd_handle *h = nbd_create ();

  if (h == NULL) {
    set_error (0, "libnbd: %s", nbd_get_error ());
    close (fd);
    return NULL;
  }
  if ((export && nbd_set_export_name (h, export) == -1)
      || (want_allocation && nbd_add_meta_context (h, "base:allocation") == -1)
      || (dirty_context && nbd_add_meta_context (h, dirty_context) == -1)) {
    set_error (0, "connect to NBD server: %s", nbd_get_error ());
    nbd_close (h);
    close (fd);
    return NULL;
  }
  /* From here the handle owns fd: nbd_close() closes it. */
  if (nbd_connect_socket (h, fd) == -1) {
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
nbd_server_connect (struct nbd_server *srv, bool want_allocation,
                    const char *dirty_context)
{
  int fd;

  if (srv->next >= srv->nconns) {
    set_error (0, "qemu-nbd: all %d connections are in use", srv->nconns);
    return NULL;
  }
  fd = srv->conns[srv->next];
  srv->conns[srv->next++] = -1; /* the handle's now */
  return open_socket (fd, NULL, want_allocation, dirty_context);
}

struct nbd_handle *
nbd_open_unix_export (const char *sock, const char *export,
                      bool want_allocation, const char *dirty_context)
{
  int fd = connect_unix (sock);

  if (fd == -1)
    return NULL;
  return open_socket (fd, export, want_allocation, dirty_context);
}
