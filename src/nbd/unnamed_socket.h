/* The listening socket qemu-nbd serves, with every connection to it
 * made before qemu-nbd runs and its name in the file system gone
 * (unnamed_socket.c says why).  Made in the forked child that becomes
 * qemu-nbd, which hands the connections to its parent over a socket
 * pair. */
#ifndef VMB_NBD_UNNAMED_SOCKET_H
#define VMB_NBD_UNNAMED_SOCKET_H

#include <stddef.h>

/* In the parent: the template of the private directory,
 * "$TMPDIR/vmbackup-nbd-XXXXXX", into dir (size bytes); -1 with the
 * error set if its socket's path would be too long. */
int unnamed_socket_template (char *dir, size_t size);

/* In the child (calls nothing that allocates): make the directory from
 * the template dir, listen in it, make n connections into conns, remove
 * the socket's name and the directory.  The listening descriptor, or -1
 * with errno set; nothing is left on disk either way. */
int unnamed_socket_listen (char *dir, int n, int *conns);

/* Pass n descriptors over the socket sock (without SIGPIPE if the
 * reader is gone); -1 with errno set.  The receiver gets them
 * close-on-exec and above 2; -1 with the error set, or with EOF if the
 * sender went away first. */
int unnamed_socket_send (int sock, const int *fds, int n);
int unnamed_socket_recv (int sock, int *fds, int n);

#endif
