/* Restoring a whole VM from a host backup (see restore.c). */
#ifndef VMB_VM_RESTORE_H
#define VMB_VM_RESTORE_H

#include <stdbool.h>

#include "common/events.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "instant.h"
#include "report.h"

struct restore_vm_opts {
  const char *uri;
  const char *as;      /* restore beside the original */
  const char *storage; /* put disks and NVRAM here */
  bool replace;        /* turn off and delete the existing VM */
  bool config_only;    /* blank disks */
  bool start;
  struct event_log *events;
  const struct vm_report *report;
  /* Run the VM at once from the backup, copying its disks in the
   * background (instant.h), or NULL for a full restore. */
  const struct instant_opts *instant;
};

/* 0 after report->restored, or -1 with the error set (and nothing
 * existing touched when it failed before the disks were written). */
int restore_vm (struct repo *repo, const struct manifest *m,
                const struct restore_vm_opts *o);

#endif
