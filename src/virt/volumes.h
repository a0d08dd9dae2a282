/* Disks from a storage pool (<disk type='volume'>) named by pool and
 * volume, which only libvirt can turn into the file or device that holds
 * them. */
#ifndef VMB_VOLUMES_H
#define VMB_VOLUMES_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "domain_xml.h"

/* Give each included volume disk the path of its volume as its source,
 * and the type of that path ("file" or "block"), so that it is read, and
 * its point-in-time overlay placed, like a disk named by path.  A volume
 * libvirt cannot find (pool inactive, volume deleted) keeps its
 * "POOL/VOLUME" source and is named when it is read; with missing_ok (a
 * restore), a missing volume of a running directory pool gets the path
 * it will have there. */
void volumes_resolve (virConnectPtr conn, struct domain_info *info,
                      bool missing_ok);
/* After a restore wrote volumes' files: each of their pools refreshed,
 * so that libvirt finds the volumes the VM names. */
void volumes_refresh (virConnectPtr conn, const struct domain_info *info);

#endif
