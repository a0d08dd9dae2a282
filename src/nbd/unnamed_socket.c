/* qemu-nbd's listening socket, connected and unnamed (unnamed_socket.h).
 *
 * qemu-nbd authenticates nobody, so its socket must be reachable by our
 * user only: a path in a private (0700) directory, never an abstract
 * socket, which every local user can connect to.  But a path outlives a
 * SIGKILL.  So the name exists only while the connections we will use
 * are made: they wait in the listen backlog until qemu-nbd accepts them
 * from the descriptor it is given by socket activation, and the socket
 * file and the directory are removed before qemu-nbd runs.  This is done
 * in the child that becomes qemu-nbd, which arms its parent-death signal
 * only afterwards: if vmbackup is killed in the middle, the child still
 * removes the directory before it follows its parent.  So nothing is
 * ever left in $TMPDIR, and nobody else can ever connect. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "common/test_hooks.h"
#include "server.h"
#include "unnamed_socket.h"

#define TEMPLATE "/vmbackup-nbd-XXXXXX"
#define SOCK "/sock"

int
unnamed_socket_template (char *dir, size_t size)
{
  const char *tmp = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
  struct sockaddr_un sa;
  size_t len = strlen (tmp) + strlen (TEMPLATE);

  if (len >= size || len + strlen (SOCK) >= sizeof sa.sun_path) {
    set_error (ENAMETOOLONG, "%s" TEMPLATE SOCK, tmp);
    return -1;
  }
  strcpy (dir, tmp);
  strcat (dir, TEMPLATE);
  return 0;
}

int
unnamed_socket_listen (char *dir, int n, int *conns)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = -1, made = 0, err;

  if (mkdtemp (dir) == NULL)
    return -1;
  strcpy (sa.sun_path, dir); /* fits: unnamed_socket_template() */
  strcat (sa.sun_path, SOCK);
  fd = fd_above_stdio (socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  /* The backlog holds all our connections: connect() never waits. */
  if (fd == -1 || bind (fd, (struct sockaddr *) &sa, sizeof sa) == -1
      || listen (fd, n) == -1)
    goto fail;
  for (; made < n; made++) {
    conns[made] = fd_above_stdio (
      socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (conns[made] == -1
        || connect (conns[made], (struct sockaddr *) &sa, sizeof sa) == -1) {
      if (conns[made] != -1)
        close (conns[made]);
      goto fail;
    }
  }
  test_hook_nbd_socket_named ();
  unlink (sa.sun_path);
  rmdir (dir);
  return fd;

fail:
  err = errno;
  while (made > 0)
    close (conns[--made]);
  if (fd != -1)
    close (fd);
  unlink (sa.sun_path);
  rmdir (dir);
  errno = err;
  return -1;
}

int
unnamed_socket_send (int sock, const int *fds, int n)
{
  char byte = 0, buf[CMSG_SPACE (NBD_SERVER_MAX_CONNECTIONS * sizeof (int))];
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = buf,
                        .msg_controllen = CMSG_SPACE (n * sizeof (int)) };
  struct cmsghdr *c;
  ssize_t r;

  if (n < 1 || n > NBD_SERVER_MAX_CONNECTIONS) {
    errno = EINVAL;
    return -1;
  }
  memset (buf, 0, sizeof buf);
  c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (n * sizeof (int));
  memcpy (CMSG_DATA (c), fds, n * sizeof (int));
  do
    r = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (r == -1 && errno == EINTR);
  return r == 1 ? 0 : -1;
}

int
unnamed_socket_recv (int sock, int *fds, int n)
{
  char byte, buf[CMSG_SPACE (NBD_SERVER_MAX_CONNECTIONS * sizeof (int))];
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = buf,
                        .msg_controllen = sizeof buf };
  struct cmsghdr *c;
  int got = 0;
  ssize_t r;

  do
    r = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (r == -1 && errno == EINTR);
  if (r == -1) {
    set_error (errno, "receive qemu-nbd's connections");
    return -1;
  }
  for (c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int k = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
      int *in = (int *) CMSG_DATA (c);
      for (int i = 0; i < k; i++) {
        if (got < n)
          fds[got++] = fd_above_stdio (in[i]);
        else
          close (in[i]); /* never: the child sends n */
      }
    }
  if (got < n || (msg.msg_flags & MSG_CTRUNC)) {
    while (got > 0)
      close (fds[--got]);
    set_error (0, "qemu-nbd's connections were not made");
    return -1;
  }
  return 0;
}
