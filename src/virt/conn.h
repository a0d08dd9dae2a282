/* Connecting to libvirt and finding domains, with libvirt's messages
 * turned into our one-line errors. */
#ifndef VMB_CONN_H
#define VMB_CONN_H

#include <libvirt/libvirt.h>

#define DEFAULT_URI "qemu:///system"

virConnectPtr virt_connect (const char *uri);
virDomainPtr virt_lookup (virConnectPtr conn, const char *name);
/* libvirt's last error message, or a fallback. */
const char *virt_error (void);

#endif
