/* A VM's snapshot and checkpoint metadata, as libvirt holds it, so a
 * backup can carry the snapshot tree and restore can redefine it.
 *
 * Mechanism (documented in vmbackup(1)): snapshot and checkpoint XML is
 * stored as configuration files, parents before children; the disk state
 * of internal qcow2 snapshots is read from the image with qemu-nbd -l
 * and stored as extra disks named TARGET@SNAPSHOT.  External snapshots'
 * overlays are read merged, as the VM sees them. */
#ifndef VMB_SNAPSHOTS_H
#define VMB_SNAPSHOTS_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "common/vector.h"

struct vm_snapshot {
  char *name;
  char *xml;
  bool current;
  char *internal_disks; /* " vda vdb ": disks with snapshot='internal' */
};
DEFINE_VECTOR_TYPE (vm_snapshot_vector, struct vm_snapshot);

/* Snapshots, parents before children. */
int vm_snapshots_list (virDomainPtr dom, vm_snapshot_vector *out);
/* Checkpoints, parents before children (xml only; current/internal
 * unused). */
int vm_checkpoints_list (virDomainPtr dom, vm_snapshot_vector *out);
void vm_snapshots_free (vm_snapshot_vector *v);

#endif
