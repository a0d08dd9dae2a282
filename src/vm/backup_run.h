/* One VM backup's state, shared by backup.c (the disks), backup_pit.c
 * (the point-in-time copy) and backup_config.c (what is kept beside the
 * disks). */
#ifndef VMB_VM_BACKUP_RUN_H
#define VMB_VM_BACKUP_RUN_H

#include <signal.h>
#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "common/vector.h"
#include "repo/manifest.h"
#include "repo/store.h"
#include "virt/backup_job.h"
#include "virt/guard.h"
#include "virt/plan.h"
#include "virt/snapshots.h"
#include "backup_boot.h"
#include "backup.h"
#include "incremental.h"

DEFINE_VECTOR_TYPE (string_vector, char *);

struct vm_run {
  const struct backup_vm_opts *o;
  const char *uri; /* libvirt's, for the guardian */
  virDomainPtr dom;
  struct vm_plan plan;
  struct store store;
  struct guard guard;
  struct backup_job job;
  struct incremental inc;
  struct manifest m;
  const char *consistency;
  bool frozen, paused_by_us;
  double frozen_at;
  vm_snapshot_vector snaps;
  vm_snapshot_vector checkpoints;
  string_vector names;     /* "vda@snap" disk names we allocated */
  struct boot_keeper boot; /* boot files, kept while disks are read */
  sigset_t saved_mask;
};

/* Events of this operation go to the log the caller opened. */
#define emit(r, ...) event_emit ((r)->o->events, __VA_ARGS__)

/* The point-in-time copy (backup_pit.c): freeze or suspend, start the
 * job, thaw or resume; the downtime goes into the manifest. */
int vm_run_start_job (struct vm_run *r);
/* Keep a file (path) or a text (text != NULL, stored under path's name)
 * in the backup, with its role. */
int vm_run_add_file (struct vm_run *r, const char *role, const char *path,
                     const char *text);
/* Keep the configuration: domain XML, NVRAM, boot files, TPM state,
 * snapshot and checkpoint metadata. */
int vm_run_keep_config (struct vm_run *r);

#endif
