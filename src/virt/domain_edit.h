/* Rewrite a domain's XML for a restore: another name and identity (new
 * UUID and MAC addresses, left for libvirt to generate), disks and NVRAM
 * at other paths.  Pure libxml2, unit tested without libvirt. */
#ifndef VMB_DOMAIN_EDIT_H
#define VMB_DOMAIN_EDIT_H

#include <stdbool.h>
#include <stddef.h>

struct disk_move {
  const char *target; /* "vda" */
  const char *path;   /* its new file */
  /* An instant restore's overlay: path is a qcow2 image whose backing
   * is the raw NBD export at this unix socket, or NULL. */
  const char *nbd_socket;
};

struct domain_rewrite {
  const char *name;  /* new name, or NULL to keep */
  bool new_identity; /* drop <uuid> and every <mac> */
  const struct disk_move *disks;
  size_t ndisks;
  const char *nvram; /* new NVRAM path, or NULL */
};

/* Returns the new XML (malloc'd) or NULL with the error set. */
char *domain_xml_rewrite (const char *xml, const struct domain_rewrite *rw);

/* A snapshot XML as a disk-only one: state shut off, no memory, for
 * snapshots whose memory state a backup does not keep. */
char *snapshot_xml_disk_only (const char *xml);

#endif
