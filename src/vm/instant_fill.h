/* The first stage of an instant restore's copy of one disk (see
 * instant_copy.c): the whole backup written into a new image at the
 * disk's final path while the VM runs on its overlay. */
#ifndef VMB_VM_INSTANT_FILL_H
#define VMB_VM_INSTANT_FILL_H

#include <stdbool.h>
#include <sys/types.h>

#include "instant.h"

struct instant_fill {
  pid_t pid;      /* the program that fills, -1 when none runs */
  int output_fd;  /* its standard output and error, non-blocking */
  double percent; /* as it last said */
  char line[512]; /* what it is saying (up to a line's end) */
  char last[512]; /* the last whole line it said that was not progress */
  /* What it said when it went on from an earlier fill ("disk vda: goes
   * on from chunk ..."), until the keeper has told the log. */
  char resumed[512];
};

/* Start the fill of d: anything at d->path is removed, and `vmbackup
 * restore ID --to d->path --resume` writes the backup there in
 * d->format, straight from the repository (paced by --bandwidth when
 * the instant restore has one), going on from what a killed fill left.
 * It dies with the caller.  0, or -1 with the error set. */
int instant_fill_start (struct instant_fill *f,
                        const struct instant_keeper_params *p,
                        const struct instant_disk *d);

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

/* Kill a fill that runs (its partial image stays: the next fill goes
 * on from it). */
void instant_fill_stop (struct instant_fill *f);

#endif
