/* Restoring a whole VM from a host backup (see restore_vm.c). */
#ifndef VMB_RESTORE_VM_H
#define VMB_RESTORE_VM_H

#include <stdbool.h>

#include "common/events.h"
#include "repo/manifest.h"
#include "repo/repo.h"

struct restore_vm_opts {
  const char *uri;
  const char *as;               /* restore beside the original */
  const char *storage;          /* put disks and NVRAM here */
  bool replace;                 /* turn off and delete the existing VM */
  bool config_only;             /* blank disks */
  bool start;
  struct event_log *events;
};

int restore_vm (struct repo *repo, const struct manifest *m,
                const struct restore_vm_opts *o);

#endif
