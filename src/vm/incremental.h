/* Changed-block tracking for VM backups: decide, per disk, whether a
 * backup reads only what changed since the previous backup's checkpoint
 * (keeping every other chunk's digest from the previous backup's index)
 * or reads the whole disk, and say why in an event when it has to fall
 * back.  Every backup is still a full index: restore never needs a
 * chain. */
#ifndef VMB_INCREMENTAL_H
#define VMB_INCREMENTAL_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "common/events.h"
#include "repo/index.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "virt/plan.h"

struct incr_disk {
  char *since;              /* read what changed since this checkpoint;
                                 * NULL: read the whole disk */
  struct index_reader prev; /* the previous backup's index (when since) */
  bool bitmap;              /* the new checkpoint tracks this disk */
  char *image;              /* identity of the image ("DEV:INO") */
};

struct incremental {
  struct repo *repo;
  virDomainPtr dom;
  struct event_log *events;
  const struct vm_plan *plan;
  struct manifest *base; /* newest earlier backup of this VM */
  char *run;             /* identity of the running qemu process */
  char *new_name;        /* checkpoint this backup creates, or NULL */
  char *new_xml;
  bool created;            /* the job created new_name */
  bool bitmaps_broken;     /* shut off: a disk's bitmap is unusable */
  char *keep;              /* checkpoint later backups build on */
  struct incr_disk *disks; /* aligned with plan->dom.disks */
};

/* Decide how each disk is read; emits the events that explain a full
 * read.  backup_id is this backup's (reserved) ID. */
int incremental_prepare (struct incremental *inc, struct repo *repo,
                         virDomainPtr dom, const struct vm_plan *plan,
                         const char *backup_id, struct event_log *events);
/* libvirt refused the incremental job (a bitmap it cannot use): read
 * every disk whole; the message is libvirt's. */
void incremental_fall_back (struct incremental *inc, const char *why);
/* libvirt cannot create the checkpoint (no bitmap support in an image):
 * go on without one. */
void incremental_no_checkpoint (struct incremental *inc, const char *why);
/* A disk whose size changed since the previous backup is read whole. */
void incremental_disk_resized (struct incremental *inc, size_t i,
                               uint64_t old_size, uint64_t new_size);
/* After the backup: on success keep only the checkpoint later backups
 * build on (of this repository; others' are left alone); on failure
 * remove the checkpoint this backup created. */
void incremental_finish (struct incremental *inc, bool ok);
void incremental_release (struct incremental *inc);

#endif
