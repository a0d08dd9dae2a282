/* What a domain's XML says about its storage, and which disks the host
 * can back up.  Pure parsing: no libvirt connection, so it is unit
 * tested and fuzzed on its own. */
#ifndef VMB_DOMAIN_XML_H
#define VMB_DOMAIN_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "common/vector.h"

struct vm_disk {
  char *target; /* "vda", or "hostdev0" for a SCSI hostdev */
  char *device; /* disk, cdrom, floppy, lun, hostdev */
  char *type;   /* file, block, network, volume, dir */
  char *source; /* path, or protocol://name for network */
  char *format; /* driver type: qcow2, raw, ... or "" */
  bool shareable;
  bool readonly;
  bool included;
  bool from_volume;   /* a pool volume, source and type now its
                                 * path's (volumes_resolve) */
  char *volume;       /* then its "POOL/VOLUME", else NULL */
  char *luks_secret;  /* a LUKS-encrypted image: the UUID of the
                                 * libvirt secret holding its passphrase */
  const char *reason; /* why excluded (static text), or NULL */
};
DEFINE_VECTOR_TYPE (vm_disk_vector, struct vm_disk);

/* Files the domain boots from, named in <os>: a direct-boot kernel,
 * its initrd and device tree, and the firmware (loader). */
enum boot_kind { BOOT_KERNEL, BOOT_INITRD, BOOT_DTB, BOOT_LOADER, BOOT_KINDS };
/* "kernel", "initrd", "dtb", "loader": the <os> element names. */
extern const char *const boot_kind_name[BOOT_KINDS];

/* Where libvirt keeps an emulated (swtpm) TPM's state: a directory per
 * domain UUID, with tpm2/ or tpm1.2/ below it. */
#define SWTPM_STATE_DIR "/var/lib/libvirt/swtpm"

struct domain_info {
  char *name;
  char *uuid;
  char *nvram;            /* <os><nvram> path, or NULL */
  char *boot[BOOT_KINDS]; /* <os> paths, or NULL */
  bool has_tpm;           /* an emulated (swtpm) TPM */
  vm_disk_vector disks;
};

/* Parse a domain XML document; returns -1 with the error set. */
int domain_xml_parse (const char *xml, size_t len, struct domain_info *info);
void domain_info_release (struct domain_info *info);
size_t domain_included_disks (const struct domain_info *info);

#endif
