/* vmbackup restore: a whole VM (vm/restore.h), one disk back to an
 * image file (--to), or one file kept with a VM (--file ... --to). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/units.h"
#include "engine/restore_disk.h"
#include "repo/restore_file.h"
#include "repo/manifest.h"
#include "common/events.h"
#include "vm/host_config.h"
#include "vm/restore.h"
#include "cli.h"
#include "parse_options.h"
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

static void
print_host_line (void *opaque, const char *kind, const char *name,
                 const char *outcome, const char *detail)
{
  (void) opaque;
  printf ("%-16s %-40s %s%s%s\n", kind, name, outcome, detail ? ": " : "",
          detail ? detail : "");
}

/* --host: the host's configuration from a host backup; --all: and
 * then its VMs (vo: the VM restores' options). */
static int
restore_host (struct repo *repo, const struct manifest *m,
              struct host_restore_opts *ho, struct restore_vm_opts *vo,
              bool all)
{
  const char *uri = vo->uri;
  struct cli_report report;
  struct vm_host *h = vm_host_open (uri);
  struct event_log events;
  int r = EXIT_FAIL;

  if (h == NULL) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  if (cli_open_events (&events) == -1) {
    vm_host_close (h);
    return EXIT_FAIL;
  }
  ho->events = &events;
  ho->report = print_host_line;
  vo->events = &events;
  cli_report_init (&report);
  vo->report = &report.rep;
  if ((all ? restore_host_all (repo, h, m, ho, vo)
           : restore_host_config (repo, h, m, ho))
      == 0)
    r = EXIT_OK;
  else
    cli_error ("restore %s --host: %s", m->id, get_error ());
  event_log_close (&events);
  vm_host_close (h);
  return r;
}

int
cmd_restore (int argc, char **argv)
{
  const char *repo_opt = NULL, *to = NULL, *diskname = NULL, *format = NULL;
  const char *filename = NULL;
  struct manifest *m;
  struct repo *repo;
  int c, r = EXIT_FAIL;

  struct restore_vm_opts vo = { .uri = global_uri };
  struct host_restore_opts ho = { 0 };
  bool host = false, all = false, instant = false, instant_status = false,
       resume = false;
  int bandwidth = 0;
  const char *exclude_v[256];
  struct opt_strings excludes = OPT_STRINGS_INIT (exclude_v);
  const char *path_v[256];
  struct opt_strings paths = OPT_STRINGS_INIT (path_v);
  struct event_log events;
  struct cli_report report;
  const struct opt opts[] = {
    OPT_FLAG (0, "replace", &vo.replace,
              "turn the existing VM off, "
              "undefine it, delete its disks, and put the restored VM in "
              "its place (running if it ran)"),
    OPT_STRING (0, "as", &vo.as, "NAME",
                "restore beside it: new name, "
                "UUID, MACs, disk files"),
    OPT_STRING (0, "storage", &vo.storage, "DIR",
                "put disks and NVRAM in "
                "DIR"),
    OPT_FLAG (0, "config-only", &vo.config_only,
              "define the VM with blank "
              "disks of the same sizes"),
    OPT_FLAG (0, "start", &vo.start, "start the restored VM"),
    OPT_FLAG (0, "instant", &instant,
              "start the VM at once from the backup (served over NBD) "
              "and copy its disks into place in the background"),
    OPT_INT (0, "bandwidth", &bandwidth, "MIB", 1, 1 << 20, "bandwidth",
             "with --instant or --to: copy each disk at most MIB MiB/s"),
    OPT_FLAG (0, "instant-status", &instant_status,
              "show the instant restores in progress (no backup ID)"),
    OPT_STRING (0, "to", &to, "PATH",
                "write one disk (or with --file, one "
                "file) to PATH, which must not exist"),
    OPT_FLAG (0, "resume", &resume,
              "with --to: go on from what a killed or failed restore to "
              "the same PATH wrote, and keep what this one writes if it "
              "fails"),
    OPT_STRING (0, "disk", &diskname, "NAME",
                "the disk for --to when there "
                "are several (vda, or vda@SNAPSHOT)"),
    OPT_CHOICE (0, "format", &format, "raw|qcow2",
                "image format for --to "
                "(default: the disk's)"),
    OPT_STRING (0, "file", &filename, "FILE",
                "a file kept with a VM "
                "(domain.xml, the NVRAM or a boot file's path)"),
    OPT_FLAG (0, "host", &host,
              "restore the host's configuration from a host "
              "backup (with --replace: objects that differ too)"),
    OPT_FLAG (0, "all", &all,
              "from a host backup: its configuration, then every VM "
              "it had from its newest backup at or before it"),
    OPT_STRING_LIST (0, "path", &paths, "PATH",
                     "with --to DIR: copy this file or directory out of "
                     "the disk (/vda1/etc/fstab, as 'mount' shows it), "
                     "with its metadata; repeatable"),
    OPT_STRING_LIST (0, "exclude", &excludes, "VM",
                     "with --all: leave this VM out; repeatable"),
    OPT_FLAG (0, "dry-run", &ho.dry_run,
              "with --host: say what would be done, change nothing"),
    OPT_STRING (0, "files-to", &ho.files_to, "DIR",
                "with --host: write the host's files under DIR "
                "instead of their places"),
    OPT_CONNECT (&vo.uri),
    OPT_REPO (&repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((c = parse_options ("restore", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (instant_status) {
    if (optind != argc || instant)
      return cli_usage_error ("restore",
                              "--instant-status takes nothing "
                              "else");
    return cli_instant_status ();
  }
  if (optind + 1 != argc)
    return cli_usage_error ("restore", "give exactly one backup ID");
  if (bandwidth && !instant && (to == NULL || filename || paths.len))
    return cli_usage_error ("restore",
                            "--bandwidth goes with --instant, or --to PATH "
                            "for a disk");
  if (instant
      && (to || vo.config_only || host || all || paths.len || filename
          || diskname || format))
    return cli_usage_error ("restore",
                            "--instant restores a whole VM: it takes "
                            "--as, --replace, --storage only");
  if (paths.len) {
    if (to == NULL || vo.replace || vo.as || vo.storage || vo.config_only
        || vo.start || format || filename || host || all)
      return cli_usage_error ("restore",
                              "--path goes with --to DIR and "
                              "--disk only");
    return cli_restore_paths (repo_opt, argv[optind], diskname, paths.v,
                              paths.len, to);
  }
  if (to && (vo.replace || vo.as || vo.storage || vo.config_only || vo.start))
    return cli_usage_error ("restore",
                            "--to restores one disk to a file; "
                            "it does not go with VM options");
  if (resume && (to == NULL || filename))
    return cli_usage_error ("restore",
                            "--resume goes with --to PATH, for a disk");
  if (filename && (to == NULL || diskname || format))
    return cli_usage_error ("restore",
                            "--file wants --to PATH, and no "
                            "--disk or --format");
  if (excludes.len && !all)
    return cli_usage_error ("restore", "--exclude goes with --all");
  ho.exclude = excludes.v;
  ho.nexclude = excludes.len;
  host |= all;
  if ((ho.dry_run || ho.files_to) && !host)
    return cli_usage_error ("restore",
                            "--dry-run and --files-to go with --host");
  if (host
      && (to || vo.as || vo.storage || vo.config_only || vo.start || diskname
          || filename))
    return cli_usage_error ("restore",
                            "--host and --all restore from a host backup; "
                            "they take only --replace, --dry-run, --files-to");
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
  if (host || strcmp (m->kind, "host") == 0) {
    if (!host)
      r = cli_usage_error ("restore",
                           "backup %s is a host backup: give --host", m->id);
    else {
      ho.replace = vo.replace;
      r = restore_host (repo, m, &ho, &vo, all);
    }
    goto out;
  }
  if (m->archive.present) {
    cli_usage_error ("restore",
                     "backup %s is a files backup: use 'vmbackup "
                     "files restore %s --to DIR'",
                     m->id, m->id);
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
    if (instant) {
      r = cli_restore_instant (repo, m, &vo, bandwidth);
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
  r = cli_restore_disk_to (repo, m, diskname, to, format, resume, bandwidth);
out:
  manifest_free (m);
  repo_close (repo);
  return r;
}
