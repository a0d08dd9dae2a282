/* The libvirt host that VM operations run against, opened once per
 * command, so that cli/ never holds a libvirt object itself. */
#ifndef VMB_VM_HOST_H
#define VMB_VM_HOST_H

#include "virt/plan.h"

struct vm_host;

/* NULL with the error set when libvirt cannot be reached. */
struct vm_host *vm_host_open (const char *uri);
void vm_host_close (struct vm_host *h);

/* What a backup of VM name would do (virt/plan.h); agent_timeout_s
 * bounds each guest agent call.  -1 with the error set. */
int vm_host_plan (struct vm_host *h, const char *name, int agent_timeout_s,
                  struct vm_plan *plan);

/* The names of every VM the host defines (running, paused, shut off),
 * sorted, malloc'd one by one and as an array of *n.  -1 with the
 * error set. */
int vm_host_list (struct vm_host *h, char ***names, size_t *n);

#endif
