/* Backing up one libvirt VM (see backup.c). */
#ifndef VMB_VM_BACKUP_H
#define VMB_VM_BACKUP_H

#include "common/events.h"
#include "repo/repo.h"
#include "host.h"
#include "report.h"

struct backup_vm_opts {
  const char *uri;         /* the host's (vm_host_open), as the user
                                 * gave it */
  const char *consistency; /* auto, application, crash, offline */
  int level;
  int downtime_warn_ms; /* EV_DOWNTIME_HIGH above this */
  struct event_log *events;
  const struct vm_report *report;
};

/* 0 after report->backed_up, or -1 with the error set. */
int backup_vm (struct repo *repo, struct vm_host *host,
               const struct backup_vm_opts *o, const char *name);

#endif
