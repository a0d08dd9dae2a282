/* Backing up one libvirt VM (see backup_vm.c). */
#ifndef VMB_BACKUP_VM_H
#define VMB_BACKUP_VM_H

#include <libvirt/libvirt.h>

#include "common/events.h"
#include "repo/repo.h"

struct backup_vm_opts {
  const char *uri;
  const char *consistency;      /* auto, application, crash, offline */
  int level;
  int downtime_warn_ms;         /* EV_DOWNTIME_HIGH above this */
  struct event_log *events;
};

int backup_vm (struct repo *repo, virConnectPtr conn,
               const struct backup_vm_opts *o, const char *name);

#endif
