/* restore ID --path P... --to DIR: files out of a disk backup, copied
 * from a mount of the command's own (private_mount.h) with their
 * metadata. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "private_mount.h"

/* cp -a: content, mode, owner, times, symlinks, hard links within. */
static int
copy_out (const char *from, const char *to)
{
  pid_t pid = fork ();
  int status;

  if (pid == -1)
    return -1;
  if (pid == 0) {
    execlp ("cp", "cp", "-a", "--", from, to, (char *) NULL);
    _exit (127);
  }
  if (waitpid (pid, &status, 0) != pid)
    return -1;
  return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

int
cli_restore_paths (const char *repo_opt, const char *id, const char *diskname,
                   const char **paths, size_t npaths, const char *to)
{
  struct cli_private_mount pm = { 0 };
  char from[PATH_MAX * 2], dest[PATH_MAX * 2];
  struct stat st;
  int r = EXIT_FAIL;

  for (size_t i = 0; i < npaths; i++)
    if (!cli_guest_path_is_safe (paths[i]))
      return cli_usage_error ("restore",
                              "--path %s: give an absolute path, without "
                              "'..', starting with the file system "
                              "(/vda1/...)",
                              paths[i]);
  if (mkdir (to, 0755) == -1 && errno != EEXIST) {
    cli_error ("%s: %s", to, strerror (errno));
    return EXIT_FAIL;
  }
  if (stat (to, &st) == -1 || !S_ISDIR (st.st_mode)) {
    cli_error ("%s is not a directory", to);
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < npaths; i++) {
    const char *base = strrchr (paths[i], '/') + 1;
    snprintf (dest, sizeof dest, "%s/%s", to, base);
    if (lstat (dest, &st) == 0) {
      cli_error ("%s already exists; remove it or choose another --to", dest);
      return EXIT_FAIL;
    }
  }
  if (cli_mount_source_open (repo_opt, id, diskname, &pm.src) == -1
      || cli_private_mount_start (&pm) == -1)
    return EXIT_FAIL;
  r = EXIT_OK;
  for (size_t i = 0; i < npaths; i++) {
    const char *base = strrchr (paths[i], '/') + 1;
    snprintf (from, sizeof from, "%s%s", pm.dir, paths[i]);
    snprintf (dest, sizeof dest, "%s/%s", to, base);
    if (lstat (from, &st) == -1) {
      cli_error ("backup %s disk %s has no %s (the first part of the path "
                 "names the file system, as 'vmbackup mount' shows it)",
                 pm.src.id, pm.src.disk, paths[i]);
      r = EXIT_FAIL;
      continue;
    }
    if (copy_out (from, dest) == -1) {
      cli_error ("restore %s: copying to %s failed", paths[i], dest);
      r = EXIT_FAIL;
      continue;
    }
    printf ("restored %s %s to %s\n", pm.src.id, paths[i], dest);
  }
  if (cli_private_mount_close (&pm) == -1)
    r = EXIT_FAIL;
  return r;
}
