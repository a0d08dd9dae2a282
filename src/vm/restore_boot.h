/* Boot files of a VM backup (direct-boot kernel, initrd, device tree,
 * firmware loader; manifest role "boot") on restore.  They live outside
 * the VM's own files, often shared with other VMs or owned by a package,
 * so restore only ever adds one that is missing: an existing file is
 * never replaced, and one that differs from the backup's is named in an
 * event. */
#ifndef VMB_RESTORE_BOOT_H
#define VMB_RESTORE_BOOT_H

#include "common/events.h"
#include "common/vector.h"
#include "repo/manifest.h"
#include "repo/repo.h"

DEFINE_VECTOR_TYPE (path_vector, char *);

/* Put back the missing ones of files (the restore plan's: each at a
 * path the backed-up domain XML names, restore_plan.h); each path
 * written is appended to created (malloc'd), so that a failed restore
 * can remove them again. */
int restore_boot_files (struct repo *repo,
                        const struct manifest_file *const *files, size_t n,
                        struct event_log *events, path_vector *created);

#endif
