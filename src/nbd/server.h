/* A qemu-nbd process serving one disk image on a private UNIX socket.
 * Used to read image files for backup and to write qcow2 images on
 * restore; libvirt's backup jobs provide their own NBD server instead. */
#ifndef VMB_NBD_SERVER_H
#define VMB_NBD_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <libnbd.h>

struct nbd_server {
  pid_t pid;
  int log_fd; /* qemu-nbd's stderr (a memfd) */
  char *dir;  /* private temporary directory */
  char *sock; /* the UNIX socket in it */
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

/* Connect to an NBD server on a UNIX socket (a path, or "@NAME" in the
 * abstract namespace), asking for the allocation
 * map when want_allocation.  Sets a one-line error on failure. */
struct nbd_handle *nbd_open_unix (const char *sock, bool want_allocation);
/* The same for a named export (NULL: the default one), also asking for
 * a dirty-bitmap meta context when dirty_context is not NULL.  A server
 * without that context is an error: an incremental read must never
 * silently become "nothing changed". */
struct nbd_handle *nbd_open_unix_export (const char *sock, const char *export,
                                         bool want_allocation,
                                         const char *dirty_context);

#endif
