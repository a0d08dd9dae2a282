/* Bring back a configuration file kept with backup_file (domain XML,
 * NVRAM, swtpm state, snapshot XML): into memory, or to a path created
 * atomically.  Every chunk is checked against its digest. */
#ifndef VMB_RESTORE_FILE_H
#define VMB_RESTORE_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "repo/manifest.h"
#include "repo/repo.h"

/* NUL-terminated, at most max bytes. */
int restore_file_buffer (struct repo *repo, const struct manifest_file *f,
                         size_t max, char **buf, size_t *len);
/* Write to path (replacing it atomically) with the given mode. */
int restore_file_path (struct repo *repo, const struct manifest_file *f,
                       const char *path, mode_t mode);

#endif
