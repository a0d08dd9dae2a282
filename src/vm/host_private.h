/* Inside struct vm_host: only vm/ sees the libvirt connection. */
#ifndef VMB_VM_HOST_PRIVATE_H
#define VMB_VM_HOST_PRIVATE_H

#include <libvirt/libvirt.h>

#include "host.h"

struct vm_host {
  const char *uri; /* as given (the guardian reconnects) */
  virConnectPtr conn;
};

#endif
