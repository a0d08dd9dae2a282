/* A whole file backup into a repository, around files_backup()
 * (file_backup.h): find the previous backup of the name to build on,
 * reserve the ID, store the trees and this backup's events, commit the
 * manifest, and on failure leave nothing visible behind.  What the
 * caller prints comes back in the outcome; this never prints. */
#ifndef VMB_FILES_BACKUP_RUN_H
#define VMB_FILES_BACKUP_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "repo/repo.h"
#include "file_backup.h"

/* zstd level of file backups: they are smaller than disks, and level 3
 * keeps them smaller still (cli/cmd_backup.c says why disks differ). */
#define FILES_DEFAULT_LEVEL 3

struct files_backup_outcome {
  char id[NAME_MAX_LEN + 64];
  struct files_backup_result res;
  uint64_t stored_new;
  char parent[NAME_MAX_LEN + 64]; /* the backup built on, or "" */
  double seconds;
};

/* p: roots, excludes, level and one_file_system as the user gave them
 * (store, parent and events are filled in here).  reread: do not build
 * on the previous backup.  0, or -1 with the error set. */
int files_backup_run (struct repo *repo, const char *name, bool reread,
                      struct files_backup_params *p, struct event_log *events,
                      struct files_backup_outcome *out);

#endif
