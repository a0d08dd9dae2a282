/* Boot files on restore (see restore_boot.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "repo/restore_file.h"
#include "restore_boot.h"

/* What restore_file_path takes: a kernel with its initrd is tens of
 * MiB, firmware a few. */
#define BOOT_FILE_MAX (256u << 20)

/* Create the directories above path (0755), as a rebuilt host may lack
 * /var/lib/libvirt/boot and the like.  A symbolic link on the way is
 * followed only when root made it: one another user made would let that
 * user choose where we, as root, write. */
static int
make_parents (const char *path)
{
  CLEANUP_FREE char *dir = strdup (path);
  struct stat st;

  if (dir == NULL) {
    set_error (ENOMEM, "%s", path);
    return -1;
  }
  for (char *s = strchr (dir + 1, '/'); s; s = strchr (s + 1, '/')) {
    *s = '\0';
    if (mkdir_if_missing (dir, 0755) == -1)
      return -1;
    if (lstat (dir, &st) == -1) {
      set_error (errno, "%s", dir);
      return -1;
    }
    if (S_ISLNK (st.st_mode) && st.st_uid != 0) {
      set_error (0, "%s is a symbolic link of user %u", dir,
                 (unsigned) st.st_uid);
      return -1;
    }
    *s = '/';
  }
  return 0;
}

/* Does the file at path hold exactly the backup's copy? */
static int
same_as_backup (struct repo *repo, const struct manifest_file *f,
                const char *path, bool *same)
{
  CLEANUP_FREE char *kept = NULL, *here = NULL;
  size_t kept_len, here_len;

  if (restore_file_buffer (repo, f, BOOT_FILE_MAX, &kept, &kept_len) == -1)
    return -1;
  if (read_file (path, BOOT_FILE_MAX, &here, &here_len) == -1) {
    /* Unreadable or larger than any boot file we keep: not the same. */
    *same = false;
    return 0;
  }
  *same = kept_len == here_len && memcmp (kept, here, kept_len) == 0;
  return 0;
}

int
restore_boot_files (struct repo *repo,
                    const struct manifest_file *const *files, size_t n,
                    struct event_log *events, path_vector *created)
{
  for (size_t i = 0; i < n; i++) {
    const struct manifest_file *f = files[i];
    struct stat st;
    char *copy;
    bool same;

    /* lstat: a dangling symbolic link is something there, not a place
     * to write through. */
    if (lstat (f->path, &st) == 0) {
      if (same_as_backup (repo, f, f->path, &same) == -1) {
        error_prefix ("boot file %s", f->path);
        return -1;
      }
      if (!same)
        event_emit (events, EV_BOOT_FILE_DIFFERS,
                    "boot file %s differs "
                    "from the backup's copy: the VM starts with the host's",
                    f->path);
      continue;
    }
    if (make_parents (f->path) == -1
        || restore_file_path (repo, f, f->path, 0644) == -1) {
      error_prefix ("boot file %s", f->path);
      return -1;
    }
    copy = strdup (f->path);
    if (copy == NULL || path_vector_append (created, copy) == -1) {
      free (copy);
      set_error (ENOMEM, "boot file %s", f->path);
      return -1;
    }
    event_emit (events, EV_BOOT_FILE_RESTORED,
                "boot file %s was missing: "
                "put back from the backup",
                f->path);
  }
  return 0;
}
