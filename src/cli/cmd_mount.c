/* vmbackup mount / umount: a backup's disk as guest file systems
 * (src/mount/), from the same export 'vmbackup export' serves.
 * Everything a user can get wrong is checked here first. */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "mount/mount_run.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "cli.h"
#include "parse_options.h"
#include "private_mount.h"

static double
seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A mount point of ours that is still there, or one a killed mount
 * left: 1 if it runs (message printed), 0 otherwise (a dead one
 * removed). */
static int
running_or_cleaned (const char *dir)
{
  bool stale;
  int r = mount_state (dir, &stale);

  if (r == 1) {
    cli_error ("%s is already mounted by vmbackup: 'vmbackup umount %s' "
               "first",
               dir, dir);
    return 1;
  }
  if (stale && mount_cleanup (dir) == -1) {
    cli_error ("%s", get_error ());
    return 1;
  }
  return 0;
}

/* dir must be an existing, empty directory: -1 after saying why not. */
static int
check_empty_dir (const char *dir)
{
  struct dirent *de;
  struct stat st;
  DIR *d;
  int n = 0;

  if (stat (dir, &st) == -1 || !S_ISDIR (st.st_mode)) {
    cli_error ("%s is not a directory: mount on an empty directory", dir);
    return -1;
  }
  d = opendir (dir);
  if (d == NULL) {
    cli_error ("%s: %s", dir, strerror (errno));
    return -1;
  }
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  if (n) {
    cli_error ("%s is not empty: mount on an empty directory", dir);
    return -1;
  }
  return 0;
}

int
cmd_mount (int argc, char **argv)
{
  const char *repo_opt = NULL, *diskname = NULL;
  char dir[PATH_MAX];
  struct cli_mount_source src;
  double t0 = seconds ();
  int r;
  const struct opt opts[] = {
    OPT_STRING (0, "disk", &diskname, "TARGET",
                "the disk to mount when the backup has several (vda)"),
    OPT_REPO (&repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((r = parse_options ("mount", opts, argc, argv)) != PARSE_GO_ON)
    return r;
  if (optind + 2 != argc)
    return cli_usage_error ("mount", "give a backup ID and a directory");
  if (mount_canonical (argv[optind + 1], dir, sizeof dir) == -1) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  if (running_or_cleaned (dir) || check_empty_dir (dir) == -1)
    return EXIT_FAIL;
  if (cli_mount_source_open (repo_opt, argv[optind], diskname, &src) == -1)
    return EXIT_FAIL;
  struct cli_fs_lines lines = { .dir = dir };
  struct mount_params p = {
    .dir = dir,
    .export = src.ep,
    .disk_name = src.disk,
    .line = cli_fs_line,
    .opaque = &lines,
  };
  printf ("mounting %s disk %s on %s (starting the libguestfs appliance)\n",
          src.id, src.disk, dir);
  fflush (stdout);
  r = mount_start (&p);
  if (r == -1)
    cli_error ("mount %s disk %s: %s", src.id, src.disk, get_error ());
  else
    printf ("mounted %s disk %s read-only on %s in %.1f s (%d file "
            "system%s); 'vmbackup umount %s' ends it\n",
            src.id, src.disk, dir, seconds () - t0, lines.mounted,
            lines.mounted == 1 ? "" : "s", dir);
  cli_mount_source_free (&src);
  return r == 0 ? EXIT_OK : EXIT_FAIL;
}

int
cmd_umount (int argc, char **argv)
{
  char dir[PATH_MAX];
  bool stale;
  int r;
  const struct opt opts[] = { OPT_END () };

  if ((r = parse_options ("umount", opts, argc, argv)) != PARSE_GO_ON)
    return r;
  if (optind + 1 != argc)
    return cli_usage_error ("umount", "give the directory to unmount");
  if (mount_canonical (argv[optind], dir, sizeof dir) == -1) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  if (mount_state (dir, &stale) == 0 && !stale) {
    cli_error ("%s is not mounted by vmbackup", dir);
    return EXIT_FAIL;
  }
  if (mount_cleanup (dir) == -1) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  printf ("unmounted %s%s\n", dir, stale ? " (its mount had died)" : "");
  return EXIT_OK;
}
