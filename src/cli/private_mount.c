/* A backup's disk as guest file systems, for the CLI (private_mount.h). */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "export/run_dir.h"
#include "mount/mount_run.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "cli.h"
#include "private_mount.h"

/* Where a command mounts a disk for itself: beside the run
 * directories (run_dir.h), so that each user, and each test with its
 * own $VMBACKUP_RUN_DIR, finds only its own. */
#define PRIVATE_MNT_NAME "private-"

static void
private_prefix (char *out, size_t len)
{
  char buf[PATH_MAX];

  snprintf (out, len, "%s/" PRIVATE_MNT_NAME, run_dir_base (buf, sizeof buf));
}

void
cli_mount_source_free (struct cli_mount_source *s)
{
  if (s->key_fd >= 0)
    close (s->key_fd);
  free (s->repo_path);
  free (s->id);
  free (s->disk);
}

int
cli_mount_source_init (struct cli_mount_source *s, const struct repo *repo,
                       const struct manifest *m, const char *diskname,
                       int key_fd)
{
  const struct manifest_disk *disk;

  memset (s, 0, sizeof *s);
  s->key_fd = key_fd;
  if ((s->ep.plugin = export_plugin_path ()) == NULL) {
    cli_error ("%s", get_error ());
    goto fail;
  }
  if (m->archive.present) {
    cli_error ("backup %s is a files backup: it has no disk to mount", m->id);
    goto fail;
  }
  if ((disk = cli_pick_disk (m, diskname)) == NULL)
    goto fail;
  s->repo_path = strdup (repo->path);
  s->id = strdup (m->id);
  s->disk = strdup (disk->name);
  if (!s->repo_path || !s->id || !s->disk) {
    cli_error ("out of memory");
    goto fail;
  }
  s->ep.repo = s->repo_path;
  s->ep.backup = s->id;
  s->ep.disk = s->disk;
  s->ep.key_fd = s->key_fd;
  s->ep.event_log = global_event_log;
  return 0;
fail:
  cli_mount_source_free (s);
  return -1;
}

int
cli_mount_source_open (const char *repo_opt, const char *id,
                       const char *diskname, struct cli_mount_source *s)
{
  struct manifest *m = NULL;
  struct repo *repo;
  bool key_failed;
  int key_fd, r = -1;

  memset (s, 0, sizeof *s);
  s->key_fd = -1;
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return -1;
  key_fd = cli_export_key_pipe (repo, &key_failed);
  if (key_failed)
    goto out;
  m = manifest_resolve (repo, id);
  if (m == NULL) {
    cli_error ("%s", get_error ());
    if (key_fd >= 0)
      close (key_fd);
    goto out;
  }
  r = cli_mount_source_init (s, repo, m, diskname, key_fd);
out:
  manifest_free (m);
  repo_close (repo);
  return r;
}

bool
cli_guest_path_is_safe (const char *p)
{
  if (p[0] != '/' || p[1] == '\0')
    return false;
  for (const char *c = p; (c = strstr (c, "..")); c += 2)
    if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
      return false;
  return true;
}

void
cli_fs_line (void *opaque, const char *text)
{
  struct cli_fs_lines *l = opaque;
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
    fprintf (l->notes ? l->notes : stdout, "%s  %s: %s file system %s\n",
             l->prefix ? l->prefix : "", name, fstype, text + n);
  }
}

/* The private mount points of commands that were killed: unmounted,
 * their run directories and themselves removed. */
static void
clean_dead_private_mounts (void)
{
  char pattern[PATH_MAX + 16];
  glob_t g;

  private_prefix (pattern, sizeof pattern - 1);
  strcat (pattern, "*");
  if (glob (pattern, GLOB_NOSORT, NULL, &g) != 0)
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
cli_private_mount_start (struct cli_private_mount *pm)
{
  char base[PATH_MAX];

  clean_dead_private_mounts ();
  mkdir (run_dir_base (base, sizeof base), 0700);
  private_prefix (pm->dir, sizeof pm->dir - 8);
  strcat (pm->dir, "XXXXXX");
  if (mkdtemp (pm->dir) == NULL) {
    cli_error ("temporary directory: %s", strerror (errno));
    cli_mount_source_free (&pm->src);
    return -1;
  }
  pm->lines.dir = pm->dir;
  pm->lines.quiet = true;
  pm->lines.mounted = pm->lines.unreadable = 0;
  struct mount_params p = {
    .dir = pm->dir,
    .export = pm->src.ep,
    .disk_name = pm->src.disk,
    .line = cli_fs_line,
    .opaque = &pm->lines,
    .die_with_caller = true,
  };
  if (mount_start (&p) == -1) {
    cli_error ("backup %s disk %s: %s", pm->src.id, pm->src.disk,
               get_error ());
    rmdir (pm->dir);
    cli_mount_source_free (&pm->src);
    return -1;
  }
  return 0;
}

int
cli_private_mount_close (struct cli_private_mount *pm)
{
  int r = 0;

  if (mount_cleanup (pm->dir) == -1) {
    cli_error ("%s", get_error ());
    r = -1;
  }
  rmdir (pm->dir);
  cli_mount_source_free (&pm->src);
  return r;
}
