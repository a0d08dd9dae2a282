/* The decisions of changed-block tracking (incremental.h), apart from
 * the host: each takes what incremental.c found out (from libvirt, the
 * repository, the images) as plain values and says whether a disk may
 * be read as what changed, or which event tells the user why not.  Kept
 * pure so that every reason for a full read is unit-tested. */
#ifndef VMB_VM_INCR_DECIDE_H
#define VMB_VM_INCR_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "nbd/image_bitmap.h"
#include "repo/manifest.h"

/* Why a disk is read whole: the event to emit (0: none) and its text. */
struct incr_verdict {
  int event;
  char msg[1024];
};

/* What is known of the previous backup and the checkpoint it names. */
struct incr_base_facts {
  const struct manifest *base; /* newest readable backup of the VM,
                                 * or NULL */
  const char *repo_id;         /* this repository's */
  const char *run;             /* the qemu process now; NULL: shut off */
  int found;                   /* the checkpoint: 1 there, 0 gone,
                                 * -1 libvirt failed (error) */
  const char *error;
  const char *cp_name;       /* when found */
  const char *cp_repository; /* the repository it was made for */
  /* When gone: the newest backup one of our checkpoints names that the
   * repository no longer has (pruned), or NULL. */
  const char *lost_backup, *lost_checkpoint;
};

/* May disks read changes since the base's checkpoint?  false: v says
 * why not. */
bool incr_decide_base (const struct incr_base_facts *f,
                       struct incr_verdict *v);

/* What is known of one disk, now and at the base. */
struct incr_disk_facts {
  const char *target;
  const char *format;               /* "" for raw */
  const struct manifest_disk *then; /* the base's copy of it, or NULL */
  const char *base_id;
  const char *image;  /* identity of its image now, or NULL */
  bool in_checkpoint; /* the checkpoint has a bitmap of it */
};

/* May the disk be read as what changed since `since` (NULL: no usable
 * checkpoint)?  false: v says why not (v->event 0: already said). */
bool incr_decide_disk (const struct incr_disk_facts *f, const char *since,
                       struct incr_verdict *v);

/* A shut-off VM's disk: may its bitmap `since` be trusted, given its
 * state in the image (-1: could not be read, error)?  base_ran: the VM
 * ran at the base backup.  *broken: the checkpoint must not be kept. */
bool incr_decide_bitmap (const char *target, const char *since, int state,
                         const char *error, bool base_ran, bool *broken,
                         struct incr_verdict *v);

#endif
