/* A libvirt pull-mode backup job: libvirt freezes a point-in-time view of
 * each included disk (writes after it go through a scratch overlay
 * beside the disk, or in the job's directory for a block device) and
 * exports it over NBD on a private UNIX socket in that directory, one
 * export per disk target. */
#ifndef VMB_BACKUP_JOB_H
#define VMB_BACKUP_JOB_H

#include <stdbool.h>

#include <libnbd.h>
#include <libvirt/libvirt.h>

#include "domain_xml.h"

struct backup_job {
  virDomainPtr dom;
  char *dir; /* private directory: socket, scratch */
  char *sock;
  bool active;
};

/* since (aligned with info->disks, or NULL) names, per disk, the
 * checkpoint whose changes the export's dirty bitmap shows (NULL: a
 * full export); checkpoint_xml, when not NULL, creates a checkpoint at
 * the job's point in time. */
int backup_job_begin (struct backup_job *job, virDomainPtr dom,
                      const struct domain_info *info, const char *const *since,
                      const char *checkpoint_xml);
/* Connect to one disk's export, with its allocation map, and its dirty
 * bitmap (backup_job_dirty_context) when the disk's export is
 * incremental. */
struct nbd_handle *backup_job_connect (struct backup_job *job,
                                       const char *target,
                                       const char *dirty_context);
/* The meta context of a disk's dirty bitmap in an incremental job
 * (libvirt names the exported bitmap "backup-TARGET"). */
char *backup_job_dirty_context (const char *target);
/* End the job (libvirt removes the scratch overlays) and remove its
 * directory. */
void backup_job_end (struct backup_job *job);
/* Remove a job's directory and what a job puts in it (the guardian's
 * cleanup after vmbackup died). */
void backup_job_dir_remove (const char *dir);

#endif
