/* The host's own configuration as a backup of kind "host": every
 * secret, network, storage pool, network filter (and binding),
 * interface and persistent node device libvirt defines, with their
 * state and autostart flags, the files an admin tunes under
 * /etc/libvirt, the list of VMs and their state, and the host's
 * identity, kept as one JSON document (docs/repository-format.pod,
 * HOST BACKUPS) that a restore on a rebuilt host defines again. */
#ifndef VMB_VM_HOST_CONFIG_H
#define VMB_VM_HOST_CONFIG_H

#include <stdbool.h>

#include "common/events.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "host.h"

/* The one file a host backup keeps, under this role. */
#define HOST_CONFIG_ROLE "host"
/* What a hostile backup may hold: a bound on the document. */
#define HOST_CONFIG_MAX (64u << 20)

struct host_backup_opts {
  int level;
  bool no_secret_values; /* keep secrets' definitions only */
  struct event_log *events;
};

/* Back up the host's configuration; *id (malloc'd) is the new backup's.
 * -1 with the error set (a secret's value into a repository in the
 * clear is refused). */
int backup_host_config (struct repo *repo, struct vm_host *h,
                        const struct host_backup_opts *o, char **id);

/* One line of a host restore's report. */
typedef void (*host_report_fn) (void *opaque, const char *kind,
                                const char *name, const char *outcome,
                                const char *detail);

struct host_restore_opts {
  bool dry_run;               /* say what would be done, change nothing */
  bool replace;               /* objects that differ are put back as kept */
  const char *files_to;       /* write host files under this directory */
  const char *const *exclude; /* restore --all: VMs left out */
  size_t nexclude;
  struct event_log *events;
  host_report_fn report;
  void *report_opaque;
};

/* Restore the configuration kept by host backup m.  Nothing is changed
 * when an object exists with other settings and o->replace is not set
 * (-2, the error naming it); otherwise every object is restored, kept
 * or reported failed, and -1 means at least one failed. */
int restore_host_config (struct repo *repo, struct vm_host *h,
                         const struct manifest *m,
                         const struct host_restore_opts *o);

/* restore --all: the configuration, then every VM the host had, each
 * from its newest backup at or before the host backup (VMs that exist
 * are kept unless o->replace), started if it ran.  vo gives the VM
 * restores' connection, events and report.  -1 if anything failed. */
struct restore_vm_opts;
int restore_host_all (struct repo *repo, struct vm_host *h,
                      const struct manifest *m,
                      const struct host_restore_opts *o,
                      const struct restore_vm_opts *vo);

#endif
