/* A standalone disk image (raw or qcow2, a file or a device) backed up
 * as a backup of kind "image", read through a read-only qemu-nbd. */
#ifndef VMB_VM_IMAGE_H
#define VMB_VM_IMAGE_H

#include <stdint.h>

#include "common/events.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "report.h"

struct image_arg {
  char *name; /* the backup's name */
  const char *path;
};

/* What the backup holds, for its result line. */
struct image_result {
  char id[NAME_MAX_LEN + 64];
  uint64_t size, bytes_read, stored_new;
  double seconds;
};

/* One image into one backup, with its events; 0 or -1 with the error
 * set (and the events saying so). */
int backup_image (struct repo *repo, const struct image_arg *img, int level,
                  struct event_log *events, const struct vm_report *report,
                  struct image_result *out);

#endif
