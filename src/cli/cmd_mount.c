/* vmbackup mount / umount, and restore --path: a backup's disk as guest
 * file systems (src/mount/), from the same export 'vmbackup export'
 * serves.  Everything a user can get wrong is checked here first. */
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

/* Where restore --path mounts the disk for itself. */
#define RESTORE_MNT_PREFIX "/tmp/vmbackup-restore."

static double
seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What a mount needs from the repository, found before anything
 * starts; the repository itself is closed again (nbdkit opens its
 * own). */
struct mount_source {
  struct export_params ep;
  char *repo_path, *id, *disk;
  int key_fd;
};

static void
source_free (struct mount_source *s)
{
  if (s->key_fd >= 0)
    close (s->key_fd);
  free (s->repo_path);
  free (s->id);
  free (s->disk);
}

static int
source_open (const char *repo_opt, const char *id, const char *diskname,
             struct mount_source *s)
{
  const struct manifest_disk *disk;
  struct manifest *m = NULL;
  struct repo *repo;
  bool key_failed;
  int r = -1;

  memset (s, 0, sizeof *s);
  s->key_fd = -1;
  if ((s->ep.plugin = export_plugin_path ()) == NULL) {
    cli_error ("%s", get_error ());
    return -1;
  }
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return -1;
  s->key_fd = cli_export_key_pipe (repo, &key_failed);
  if (key_failed)
    goto out;
  m = manifest_resolve (repo, id);
  if (m == NULL) {
    cli_error ("%s", get_error ());
    goto out;
  }
  if (m->archive.present) {
    cli_error ("backup %s is a files backup: it has no disk to mount", m->id);
    goto out;
  }
  if ((disk = cli_pick_disk (m, diskname)) == NULL)
    goto out;
  s->repo_path = strdup (repo->path);
  s->id = strdup (m->id);
  s->disk = strdup (disk->name);
  if (!s->repo_path || !s->id || !s->disk) {
    cli_error ("out of memory");
    goto out;
  }
  s->ep.repo = s->repo_path;
  s->ep.backup = s->id;
  s->ep.disk = s->disk;
  s->ep.key_fd = s->key_fd;
  s->ep.event_log = global_event_log;
  r = 0;
out:
  manifest_free (m);
  repo_close (repo);
  if (r == -1)
    source_free (s);
  return r;
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

/* "NAME FSTYPE mounted" or "NAME FSTYPE not readable: WHY", from the
 * keeper, as the user reads it. */
struct fs_lines {
  const char *dir;
  bool quiet; /* restore: only what could not be read */
  int mounted, unreadable;
};

static void
print_fs_line (void *opaque, const char *text)
{
  struct fs_lines *l = opaque;
  char name[256], fstype[64];
  int n = 0;

  if (sscanf (text, "%255s %63s %n", name, fstype, &n) != 2 || n == 0)
    return;
  if (strcmp (text + n, "mounted") == 0) {
    l->mounted++;
    if (!l->quiet)
      printf ("  %s/%s (%s)\n", l->dir, name, fstype);
  }
  else {
    l->unreadable++;
    printf ("  %s: %s file system %s\n", name, fstype, text + n);
  }
}

int
cmd_mount (int argc, char **argv)
{
  const char *repo_opt = NULL, *diskname = NULL;
  char dir[PATH_MAX];
  struct mount_source src;
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
  if (source_open (repo_opt, argv[optind], diskname, &src) == -1)
    return EXIT_FAIL;
  struct fs_lines lines = { .dir = dir };
  struct mount_params p = {
    .dir = dir,
    .export = src.ep,
    .disk_name = src.disk,
    .line = print_fs_line,
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
  source_free (&src);
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

static bool
path_is_safe (const char *p)
{
  if (p[0] != '/' || strcmp (p, "/") == 0)
    return false;
  for (const char *c = p; (c = strstr (c, "..")); c += 2)
    if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
      return false;
  return true;
}

/* The private mount points of restores that were killed: unmounted,
 * their run directories and themselves removed. */
static void
clean_dead_restores (void)
{
  glob_t g;

  if (glob (RESTORE_MNT_PREFIX "*", GLOB_NOSORT, NULL, &g) != 0)
    return;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    bool stale;
    if (mount_state (g.gl_pathv[i], &stale) == 0 && stale
        && mount_cleanup (g.gl_pathv[i]) == 0)
      rmdir (g.gl_pathv[i]);
  }
  globfree (&g);
}

int
cli_restore_paths (const char *repo_opt, const char *id, const char *diskname,
                   const char **paths, size_t npaths, const char *to)
{
  char mnt[] = RESTORE_MNT_PREFIX "XXXXXX";
  char from[PATH_MAX * 2], dest[PATH_MAX * 2];
  struct mount_source src;
  struct stat st;
  int r = EXIT_FAIL;

  for (size_t i = 0; i < npaths; i++)
    if (!path_is_safe (paths[i]))
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
  clean_dead_restores ();
  if (source_open (repo_opt, id, diskname, &src) == -1)
    return EXIT_FAIL;
  if (mkdtemp (mnt) == NULL) {
    cli_error ("temporary directory: %s", strerror (errno));
    source_free (&src);
    return EXIT_FAIL;
  }
  struct fs_lines lines = { .dir = mnt, .quiet = true };
  struct mount_params p = {
    .dir = mnt,
    .export = src.ep,
    .disk_name = src.disk,
    .line = print_fs_line,
    .opaque = &lines,
    .die_with_caller = true,
  };
  if (mount_start (&p) == -1) {
    cli_error ("restore %s disk %s: %s", src.id, src.disk, get_error ());
    goto out;
  }
  r = EXIT_OK;
  for (size_t i = 0; i < npaths; i++) {
    const char *base = strrchr (paths[i], '/') + 1;
    snprintf (from, sizeof from, "%s%s", mnt, paths[i]);
    snprintf (dest, sizeof dest, "%s/%s", to, base);
    if (lstat (from, &st) == -1) {
      cli_error ("backup %s disk %s has no %s (the first part of the path "
                 "names the file system, as 'vmbackup mount' shows it)",
                 src.id, src.disk, paths[i]);
      r = EXIT_FAIL;
      continue;
    }
    if (copy_out (from, dest) == -1) {
      cli_error ("restore %s: copying to %s failed", paths[i], dest);
      r = EXIT_FAIL;
      continue;
    }
    printf ("restored %s %s to %s\n", src.id, paths[i], dest);
  }
  if (mount_cleanup (mnt) == -1) {
    cli_error ("%s", get_error ());
    r = EXIT_FAIL;
  }
out:
  rmdir (mnt);
  source_free (&src);
  return r;
}
