/* A backup's disk as guest file systems, for the commands that show or
 * read them (mount, restore --path, find): what the export needs from
 * the repository, the keeper's lines about each file system, and a
 * mount of the command's own in a temporary directory that goes with
 * the command (a killed command's is removed by the next one). */
#ifndef VMB_CLI_PRIVATE_MOUNT_H
#define VMB_CLI_PRIVATE_MOUNT_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "export/export_run.h"

/* What a mount needs from the repository, found before anything
 * starts; the repository itself is closed again (nbdkit opens its
 * own). */
struct cli_mount_source {
  struct export_params ep;
  char *repo_path, *id, *disk;
  int key_fd;
};

/* Backup id's disk diskname (NULL: its only one).  -1 after printing
 * why not (a files backup, no such disk, the key). */
int cli_mount_source_open (const char *repo_opt, const char *id,
                           const char *diskname, struct cli_mount_source *s);
/* The same from an open repository and a loaded backup, with key_fd
 * (cli_key_text_pipe, or -1 in the clear) taken over whatever
 * happens. */
struct repo;
struct manifest;
int cli_mount_source_init (struct cli_mount_source *s, const struct repo *repo,
                           const struct manifest *m, const char *diskname,
                           int key_fd);
void cli_mount_source_free (struct cli_mount_source *s);

/* The keeper's "NAME FSTYPE mounted" or "NAME FSTYPE not readable: WHY"
 * lines (mount_params.line), as the user reads them: each file system
 * under dir unless quiet, each one that could not be read always (on
 * notes, stdout when NULL, after prefix). */
struct cli_fs_lines {
  const char *dir;
  bool quiet;
  FILE *notes;
  const char *prefix;
  int mounted, unreadable;
};
void cli_fs_line (void *opaque, const char *text);

/* Is p an absolute path in a guest (or a pattern of one), not "/",
 * without a ".." component?  (restore --path, find) */
bool cli_guest_path_is_safe (const char *p);

/* A mount of the command's own: dir is a new directory beside the run
 * directories (run_dir.h: /run/vmbackup/private-XXXXXX for root). */
struct cli_private_mount {
  char dir[PATH_MAX];
  struct cli_mount_source src;
  struct cli_fs_lines lines;
};
/* Mount pm->src (set up by the caller, taken over) read-only;
 * lines.notes and lines.prefix may be set beforehand.  -1 after
 * printing why not, with nothing left behind. */
int cli_private_mount_start (struct cli_private_mount *pm);
/* Unmount, stop what the mount started, remove the directory.  -1
 * after printing. */
int cli_private_mount_close (struct cli_private_mount *pm);

#endif
