/* The first stage of an instant restore's copy of one disk (see
 * instant_copy.c): qemu-img writes the whole backup, read through the
 * disk's export, into a new image at the disk's final path, while the
 * VM runs on its overlay. */
#ifndef VMB_VM_INSTANT_FILL_H
#define VMB_VM_INSTANT_FILL_H

#include <stdbool.h>
#include <sys/types.h>

#include "instant.h"

struct instant_fill {
  pid_t pid;        /* the qemu-img, -1 when none runs */
  int progress_fd;  /* its standard output (-p), non-blocking */
  double percent;   /* as it last said */
  char log[4200];   /* its standard error, in the run directory */
};

/* Start qemu-img converting the export of d into a new image of size
 * bytes at d->path in d->format (anything there first removed), at
 * most bandwidth_mib MiB/s (0: no limit).  It dies with the caller.
 * 0, or -1 with the error set. */
int instant_fill_start (struct instant_fill *f, const struct instant_disk *d,
                        unsigned long long size, const char *rundir,
                        int bandwidth_mib);

enum instant_fill_state {
  FILL_RUNNING,
  FILL_DONE,  /* the image holds the whole backup */
  FILL_FAILED /* the error set; the image is removed */
};

/* How the fill of d goes; f->percent updated.  A finished fill's
 * image is given to uid:gid (QEMU's user). */
enum instant_fill_state instant_fill_poll (struct instant_fill *f,
                                           const struct instant_disk *d,
                                           uid_t uid, gid_t gid);

/* Kill a fill that runs (its partial image stays: the next fill
 * replaces it). */
void instant_fill_stop (struct instant_fill *f);

#endif
