/* Restoring a disk into the block device it was (an LVM volume, a LUN)
 * rather than into an image file beside it: a device cannot be written
 * aside and renamed into place, so it is written where it is, after
 * the VM it belongs to is gone, and only when nothing else uses it. */
#ifndef VMB_RESTORE_BLOCK_H
#define VMB_RESTORE_BLOCK_H

#include <libvirt/libvirt.h>

#include "repo/manifest.h"

/* May disk target's backup md be written into dev?  It must be a block
 * device here, at least as large as the disk, not mounted or held, and
 * no disk of a libvirt VM other than the one named vm (which the caller
 * replaces, or which no longer exists).  A raw disk only: a qcow2
 * image on a device is restored as a file.  0, or -1 with an error that
 * says what to do instead. */
int restore_block_check (virConnectPtr conn, const char *vm,
                         const char *target, const char *dev,
                         const struct manifest_disk *md);

#endif
