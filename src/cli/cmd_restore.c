/* vmbackup restore: a whole VM (vm/restore.h), one disk back to an
 * image file (--to), or one file kept with a VM (--file ... --to). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/units.h"
#include "engine/restore_disk.h"
#include "engine/restore_file.h"
#include "repo/manifest.h"
#include "common/events.h"
#include "vm/restore.h"
#include "cli.h"
#include "report.h"

/* --file NAME --to PATH: NAME is a kept file's path as the manifest
 * records it (domain.xml, /var/lib/libvirt/qemu/nvram/web1_VARS.fd, a
 * kernel's path), or its role when only one file has it (nvram). */
static int
restore_one_file (struct repo *repo, const struct manifest *m,
                  const char *name, const char *to)
{
  const struct manifest_file *f = NULL, *by_role = NULL;
  size_t roles = 0;
  char sz[32];

  for (size_t i = 0; f == NULL && i < m->files.len; i++) {
    if (strcmp (m->files.ptr[i].path, name) == 0)
      f = &m->files.ptr[i];
    else if (strcmp (m->files.ptr[i].role, name) == 0) {
      by_role = &m->files.ptr[i];
      roles++;
    }
  }
  if (f == NULL && roles == 1)
    f = by_role;
  if (f == NULL) {
    cli_error ("backup %s keeps no file %s (see 'vmbackup list --json')",
               m->id, name);
    return EXIT_FAIL;
  }
  if (access (to, F_OK) == 0) {
    cli_error ("%s already exists; remove it or choose another path", to);
    return EXIT_FAIL;
  }
  if (restore_file_path (repo, f, to, 0600) == -1) {
    cli_error ("restore %s file %s: %s", m->id, f->path, get_error ());
    return EXIT_FAIL;
  }
  printf ("restored %s file %s to %s (%s)\n", m->id, f->path, to,
          format_size (f->size, sz, sizeof sz));
  return EXIT_OK;
}

int
cmd_restore (int argc, char **argv)
{
  static const struct option opts[] = {
    { "to", required_argument, NULL, 't' },
    { "disk", required_argument, NULL, 'd' },
    { "format", required_argument, NULL, 'f' },
    { "file", required_argument, NULL, 'F' },
    { "replace", no_argument, NULL, 'R' },
    { "as", required_argument, NULL, 'a' },
    { "storage", required_argument, NULL, 's' },
    { "config-only", no_argument, NULL, 'C' },
    { "start", no_argument, NULL, 'S' },
    { "connect", required_argument, NULL, 'c' },
    { "repo", required_argument, NULL, OPT_REPO },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  const char *repo_opt = NULL, *to = NULL, *diskname = NULL, *format = NULL;
  const char *filename = NULL;
  const struct manifest_disk *disk = NULL;
  struct manifest *m;
  struct repo *repo;
  struct progress prog;
  double t0;
  char sz[32];
  int c, r = EXIT_FAIL;

  struct restore_vm_opts vo = { .uri = global_uri };
  struct event_log events;
  struct cli_report report;

  while ((c = getopt_long (argc, argv, "hc:", opts, NULL)) != -1) {
    switch (c) {
    case 'R': vo.replace = true; break;
    case 'a': vo.as = optarg; break;
    case 's': vo.storage = optarg; break;
    case 'C': vo.config_only = true; break;
    case 'S': vo.start = true; break;
    case 'c': vo.uri = optarg; break;
    case 't': to = optarg; break;
    case 'd': diskname = optarg; break;
    case 'F': filename = optarg; break;
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
  if (to && (vo.replace || vo.as || vo.storage || vo.config_only || vo.start))
    return cli_usage_error ("restore", "--to restores one disk to a file; "
                            "it does not go with VM options");
  if (filename && (to == NULL || diskname || format))
    return cli_usage_error ("restore", "--file wants --to PATH, and no "
                            "--disk or --format");
  if (vo.as && !name_is_valid (vo.as))
    return cli_usage_error ("restore", "bad VM name '%s'", vo.as);
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  m = manifest_resolve (repo, argv[optind]);
  if (m == NULL) {
    cli_error ("%s", get_error ());
    goto out;
  }
  if (m->archive.present) {
    cli_usage_error ("restore", "backup %s is a files backup: use 'vmbackup "
                     "files restore %s --to DIR'", m->id, m->id);
    r = EXIT_USAGE;
    goto out;
  }
  if (to == NULL) {
    if (strcmp (m->kind, "vm") != 0) {
      cli_usage_error ("restore", "backup %s is a disk image: give --to PATH",
                       m->id);
      r = EXIT_USAGE;
      goto out;
    }
    if (cli_open_events (&events) == -1)
      goto out;
    vo.events = &events;
    cli_report_init (&report);
    vo.report = &report.rep;
    if (restore_vm (repo, m, &vo) == 0)
      r = EXIT_OK;
    else
      cli_error ("restore %s: %s", m->id, get_error ());
    event_log_close (&events);
    goto out;
  }
  if (filename) {
    r = restore_one_file (repo, m, filename, to);
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
