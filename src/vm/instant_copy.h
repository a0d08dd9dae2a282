/* The copy of one disk of an instant restore (see instant.h), tended
 * by the keeper every time it looks at the VM. */
#ifndef VMB_VM_INSTANT_COPY_H
#define VMB_VM_INSTANT_COPY_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "instant.h"

struct instant_copy {
  const struct instant_disk *d;
  bool started_before; /* a copy was started for it */
  double started_at;   /* when the last one was (now_monotonic) */
  unsigned long long copied, total;
};

/* For a disk of the running VM dom that still reads through its
 * socket: a copy is started when none runs (again, some seconds after
 * one that ended early, with an event), its progress read when one
 * does, and the VM pivoted to the copy once it is in step.  Errors are
 * events; the next look tries again. */
void instant_copy_tend (const struct instant_keeper_params *p,
                        virDomainPtr dom, struct instant_copy *c);

#endif
