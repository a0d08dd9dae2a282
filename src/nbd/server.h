/* A qemu-nbd process serving one disk image on a private UNIX socket.
 * Used to read image files for backup and to write qcow2 images on
 * restore; libvirt's backup jobs provide their own NBD server instead. */
#ifndef VMB_NBD_SERVER_H
#define VMB_NBD_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <libnbd.h>

/* At most this many connections to one qemu-nbd (restore's workers). */
#define NBD_SERVER_MAX_CONNECTIONS 8

/* qemu-nbd listens on a socket that has no name in the file system any
 * more: every connection is made before it starts (unnamed_socket.c
 * says why), and handed out by nbd_server_connect(). */
struct nbd_server {
  pid_t pid;
  int log_fd;                            /* qemu-nbd's stderr (a memfd) */
  int conns[NBD_SERVER_MAX_CONNECTIONS]; /* -1 once handed out */
  int nconns;                            /* made */
  int next;                              /* the next to hand out */
};

/* "raw" or "qcow2", from the image's first bytes. */
int image_detect_format (const char *path, const char **format);

int nbd_server_start (struct nbd_server *srv, const char *image,
                      const char *format, bool readonly, int connections);
/* Serve the internal qcow2 snapshot named snapshot (read-only, without
 * taking the image lock: the image may be in use by a running guest). */
int nbd_server_start_snapshot (struct nbd_server *srv, const char *image,
                               const char *format, bool readonly,
                               int connections, const char *snapshot);
/* Serve an image read-only with its persistent dirty bitmap named
 * bitmap, as the meta context "qemu:dirty-bitmap:BITMAP" (qemu-nbd -B). */
int nbd_server_start_dirty (struct nbd_server *srv, const char *image,
                            const char *format, const char *bitmap);
void nbd_server_stop (struct nbd_server *srv);

/* An NBD handle on the next of the connections made when srv started
 * (as many as it was started with), asking for the allocation map when
 * want_allocation and for a dirty-bitmap meta context when
 * dirty_context is not NULL.  A server without that context is an
 * error: an incremental read must never silently become "nothing
 * changed".  Sets a one-line error on failure. */
struct nbd_handle *nbd_server_connect (struct nbd_server *srv,
                                       bool want_allocation,
                                       const char *dirty_context);
/* Connect to another NBD server (libvirt's) on a UNIX socket (a path, or
 * "@NAME" in the abstract namespace), for a named export (NULL: the
 * default one), asking for what nbd_server_connect() asks for. */
struct nbd_handle *nbd_open_unix_export (const char *sock, const char *export,
                                         bool want_allocation,
                                         const char *dirty_context);

#endif
