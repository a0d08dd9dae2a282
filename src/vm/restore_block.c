/* Checks before a restore writes into a block device (restore_block.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/units.h"
#include "virt/domain_xml.h"
#include "restore_block.h"

/* Does a disk of this domain live on the device rdev?  Compared by
 * device number: /dev/vg/lv and /dev/dm-3 are the same volume. */
static bool
domain_uses (virDomainPtr dom, dev_t rdev)
{
  char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  struct domain_info info;
  bool uses = false;

  if (xml == NULL)
    return false;
  if (domain_xml_parse (xml, strlen (xml), &info) == 0) {
    for (size_t i = 0; !uses && i < info.disks.len; i++) {
      struct stat st;
      const struct vm_disk *d = &info.disks.ptr[i];
      uses = strcmp (d->type, "block") == 0 && stat (d->source, &st) == 0
        && S_ISBLK (st.st_mode) && st.st_rdev == rdev;
    }
    domain_info_release (&info);
  }
  free (xml);
  return uses;
}

/* The name of another VM using the device, or NULL (malloc'd). */
static char *
other_user (virConnectPtr conn, const char *vm, dev_t rdev)
{
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms, 0);
  char *user = NULL;

  for (int i = 0; i < n; i++) {
    const char *name = virDomainGetName (doms[i]);
    if (user == NULL && name && strcmp (name, vm) != 0
        && domain_uses (doms[i], rdev))
      user = strdup (name);
    virDomainFree (doms[i]);
  }
  free (doms);
  return user;
}

int
restore_block_check (virConnectPtr conn, const char *vm, const char *target,
                     const char *dev, const struct manifest_disk *md)
{
  struct stat st;
  uint64_t size = 0;
  char have[32], need[32];
  char *user;
  int fd;

  if (strcmp (md->format, "raw") != 0) {
    set_error (0,
               "disk %s: a %s image on block device %s is restored as "
               "a file: give --storage DIR",
               target, md->format, dev);
    return -1;
  }
  if (stat (dev, &st) == -1 || !S_ISBLK (st.st_mode)) {
    set_error (0,
               "disk %s: %s is not a block device on this host: create "
               "it, or restore the disk as a file with --storage DIR",
               target, dev);
    return -1;
  }
  /* O_EXCL on a block device fails while it is mounted or held (by
   * device-mapper, md, a file system): in use outside libvirt. */
  fd = open (dev, O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd == -1) {
    set_error (errno, "disk %s: block device %s is in use", target, dev);
    return -1;
  }
  if (ioctl (fd, BLKGETSIZE64, &size) == -1) {
    set_error (errno, "disk %s: size of %s", target, dev);
    close (fd);
    return -1;
  }
  close (fd);
  if (size < md->size) {
    set_error (0, "disk %s: block device %s holds %s, the disk needs %s",
               target, dev, format_size (size, have, sizeof have),
               format_size (md->size, need, sizeof need));
    return -1;
  }
  user = other_user (conn, vm, st.st_rdev);
  if (user) {
    set_error (0, "disk %s: block device %s is a disk of VM %s", target, dev,
               user);
    free (user);
    return -1;
  }
  return 0;
}
