/* Reading the host's configuration into the JSON document a host backup
 * keeps (host_config.h). */
#ifndef VMB_VM_HOST_CAPTURE_H
#define VMB_VM_HOST_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "host.h"

#define HOST_ETC_LIBVIRT "/etc/libvirt"
#define HOST_GUESTS_DEFAULTS "/etc/default/libvirt-guests"

/* The document (malloc'd), secrets' values in it only if with_values;
 * *values counts the secrets that have one, *unreadable the private
 * ones libvirt would not give.  NULL with the error set. */
char *host_capture (struct vm_host *h, bool with_values, size_t *values,
                    size_t *unreadable);

#endif
