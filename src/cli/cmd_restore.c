/* vmbackup restore ID --to PATH: one disk back to an image file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/units.h"
#include "engine/restore_disk.h"
#include "repo/manifest.h"
#include "cli.h"

int
cmd_restore (int argc, char **argv)
{
  static const struct option opts[] = {
    { "to", required_argument, NULL, 't' },
    { "disk", required_argument, NULL, 'd' },
    { "format", required_argument, NULL, 'f' },
    { "repo", required_argument, NULL, OPT_REPO },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  const char *repo_opt = NULL, *to = NULL, *diskname = NULL, *format = NULL;
  const struct manifest_disk *disk = NULL;
  struct manifest *m;
  struct repo *repo;
  struct progress prog;
  double t0;
  char sz[32];
  int c, r = EXIT_FAIL;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 't': to = optarg; break;
    case 'd': diskname = optarg; break;
    case 'f':
      if (strcmp (optarg, "raw") && strcmp (optarg, "qcow2"))
        return cli_usage_error ("restore", "--format is raw or qcow2");
      format = optarg;
      break;
    case OPT_REPO: repo_opt = optarg; break;
    case OPT_HELP: cli_help ("restore"); return EXIT_OK;
    default: return cli_usage_error ("restore", "bad option");
    }
  }
  if (optind + 1 != argc)
    return cli_usage_error ("restore", "give exactly one backup ID");
  if (to == NULL)
    return cli_usage_error ("restore", "--to PATH is required");
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  m = manifest_resolve (repo, argv[optind]);
  if (m == NULL) {
    cli_error ("%s", get_error ());
    goto out;
  }
  for (size_t i = 0; i < m->disks.len; i++)
    if (diskname ? strcmp (m->disks.ptr[i].name, diskname) == 0
        : m->disks.len == 1)
      disk = &m->disks.ptr[i];
  if (disk == NULL) {
    if (diskname)
      cli_error ("backup %s has no disk %s", m->id, diskname);
    else
      cli_error ("backup %s has %zu disks: choose one with --disk", m->id,
                 m->disks.len);
    goto out;
  }
  progress_init (&prog, disk->name);
  t0 = now_monotonic ();
  struct restore_disk_params p = {
    .repo = repo, .disk = disk, .path = to,
    .format = format ? format : disk->format,
    .progress = progress_update, .progress_opaque = &prog,
  };
  if (restore_disk (&p) == -1) {
    progress_finish (&prog);
    cli_error ("restore %s: %s", m->id, get_error ());
    goto out;
  }
  progress_finish (&prog);
  printf ("restored %s disk %s to %s (%s, %s) in %.1f s\n", m->id, disk->name,
          to, p.format, format_size (disk->size, sz, sizeof sz),
          now_monotonic () - t0);
  r = EXIT_OK;
 out:
  manifest_free (m);
  repo_close (repo);
  return r;
}
