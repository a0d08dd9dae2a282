/* Connecting to libvirt and finding domains, with libvirt's messages
 * turned into our one-line errors. */
#ifndef VMB_CONN_H
#define VMB_CONN_H

#include <sys/types.h>

#include <libvirt/libvirt.h>

#define DEFAULT_URI "qemu:///system"

virConnectPtr virt_connect (const char *uri);
virDomainPtr virt_lookup (virConnectPtr conn, const char *name);
/* The user and group QEMU runs as (the DAC security model's base
 * label in the host's capabilities, "+UID:+GID").  0, or -1 with the
 * error set. */
int virt_qemu_owner (virConnectPtr conn, uid_t *uid, gid_t *gid);
/* libvirt's last error message, or a fallback. */
const char *virt_error (void);

#endif
