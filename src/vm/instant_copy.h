/* The copy of one disk of an instant restore (see instant.h), tended
 * by the keeper every time it looks at the VM. */
#ifndef VMB_VM_INSTANT_COPY_H
#define VMB_VM_INSTANT_COPY_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "instant.h"
#include "instant_fill.h"

struct instant_copy {
  const struct instant_disk *d;
  struct instant_fill fill; /* stage 1, while fill.pid > 0 */
  bool filled;              /* stage 1 done: d->path holds the whole backup */
  bool started_before;      /* a copy was started for it */
  double started_at;        /* when the last one was (now_monotonic) */
  char why[512];            /* why the last one stopped, when known */
  double woken_at;          /* the last pull that made QEMU reconnect */
  unsigned long long copied, total;
};

/* Set c up for disk d, nothing started. */
void instant_copy_init (struct instant_copy *c, const struct instant_disk *d);

/* For a disk of the running VM dom that still reads through its
 * socket: a copy is started when none runs (again, some seconds after
 * one that ended early, with an event), its progress read when one
 * does, and the VM pivoted to the copy once it is in step.  Errors are
 * events; the next look tries again. */
void instant_copy_tend (const struct instant_keeper_params *p,
                        virDomainPtr dom, struct instant_copy *c);

/* Stop what the copy runs of its own (the fill); QEMU's job, if any,
 * goes on and the next keeper finds it. */
void instant_copy_stop (struct instant_copy *c);

#endif
