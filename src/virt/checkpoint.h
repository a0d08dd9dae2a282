/* vmbackup's libvirt checkpoints: the persistent dirty bitmaps that let
 * the next backup read only what changed.
 *
 * Each VM backup that can track changes (a running VM with qcow2 disks)
 * creates one checkpoint at its point in time, named
 * "vmbackup.<first 8 characters of the repository ID>.<STAMP>", whose
 * description names the repository and the backup:
 *
 *   vmbackup repository=<repository ID> backup=<backup ID>
 *
 * so a backup never reads changes since a checkpoint that another
 * repository's backups are built on.  Other checkpoints (anyone else's)
 * are left alone. */
#ifndef VMB_CHECKPOINT_H
#define VMB_CHECKPOINT_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "common/vector.h"
#include "domain_xml.h"

#define CHECKPOINT_PREFIX "vmbackup."

struct vm_checkpoint {
  char *name;
  char *repository;   /* from the description, or NULL */
  char *backup;       /* from the description, or NULL */
  long long created;  /* seconds since the epoch */
  char *bitmap_disks; /* " vda vdb ": disks with a bitmap */
};
DEFINE_VECTOR_TYPE (vm_checkpoint_vector, struct vm_checkpoint);

/* Look one up by name: 1 found (*out filled), 0 no such checkpoint, -1
 * error. */
int vm_checkpoint_get (virDomainPtr dom, const char *name,
                       struct vm_checkpoint *out);
/* vmbackup's checkpoints of this repository, oldest first. */
int vm_checkpoints_of_repository (virDomainPtr dom, const char *repository,
                                  vm_checkpoint_vector *out);
void vm_checkpoint_release (struct vm_checkpoint *c);
void vm_checkpoint_vector_free (vm_checkpoint_vector *v);

/* The name and the <domaincheckpoint> XML of a new checkpoint with a
 * bitmap for each disk flagged in with_bitmap (aligned with
 * info->disks; other disks get none).  malloc'd, NULL on ENOMEM. */
char *vm_checkpoint_name (const char *repository, const char *backup_id);
char *vm_checkpoint_xml (const char *name, const char *repository,
                         const char *backup_id, const struct domain_info *info,
                         const bool *with_bitmap);

/* Delete a checkpoint and its bitmaps; when libvirt cannot reach the
 * bitmaps (gone from the image), drop its metadata.  0 or -1. */
int vm_checkpoint_delete (virDomainPtr dom, const char *name);

/* The identity of the qemu process running the VM ("BOOT-ID:PID:START"
 * from /proc, or "id:N" when that cannot be read), so a restart or a
 * migration in between two backups is noticed.  NULL when shut off. */
char *vm_run_identity (virDomainPtr dom);

#endif
