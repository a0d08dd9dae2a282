/* vmbackup backup VM... --image NAME=PATH: back up VMs (vm/backup.h)
 * and standalone disk images (vm/image.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/events.h"
#include "common/units.h"
#include "repo/manifest.h"
#include "vm/backup.h"
#include "vm/host_config.h"
#include "vm/image.h"
#include "cli.h"
#include "parse_options.h"
#include "report.h"

/* zstd level 1 for disks, as Proxmox Backup Server has it: a VM backup
 * is bound by the CPU (hashing and compressing every byte read) and has
 * a window to fit in.  Level 3 stores 4% less of text and 10% less of
 * binaries after compression, at 50-60% of the speed (docs/vmbackup.pod,
 * --compression).  File backups keep level 3 (cmd_files.c). */
#define DEFAULT_LEVEL 1

/* --image NAME=PATH into images[*nimages]: PARSE_GO_ON or EXIT_USAGE. */
static int
add_image (char *arg, struct image_arg *images, size_t *nimages)
{
  char *eq = strchr (arg, '=');

  if (eq == NULL || eq == arg || eq[1] == '\0')
    return cli_usage_error ("backup", "--image wants NAME=PATH, got '%s'",
                            arg);
  *eq = '\0';
  if (!name_is_valid (arg))
    return cli_usage_error ("backup",
                            "bad backup name '%s' (letters, "
                            "digits, '.', '_', '-'; at most 64)",
                            arg);
  for (size_t i = 0; i < *nimages; i++)
    if (strcmp (images[i].name, arg) == 0)
      return cli_usage_error ("backup", "name '%s' given twice", arg);
  images[*nimages].name = arg;
  images[(*nimages)++].path = eq + 1;
  return PARSE_GO_ON;
}

/* --all: every VM the host defines but the --exclude ones, as a list
 * of names owned by *names (freed with free_names); -1 when the host
 * cannot list them. */
static int
all_vms (struct vm_host *h, const struct opt_strings *excludes, char ***names,
         size_t *n)
{
  size_t kept = 0;

  if (vm_host_list (h, names, n) == -1) {
    cli_error ("backup --all: %s", get_error ());
    return -1;
  }
  for (size_t x = 0; x < excludes->len; x++) {
    bool found = false;
    for (size_t i = 0; i < *n; i++)
      found |= strcmp ((*names)[i], excludes->v[x]) == 0;
    if (!found)
      cli_warning ("--exclude %s: the host has no such VM", excludes->v[x]);
  }
  for (size_t i = 0; i < *n; i++) {
    bool excluded = false;
    for (size_t x = 0; x < excludes->len; x++)
      excluded |= strcmp ((*names)[i], excludes->v[x]) == 0;
    if (excluded)
      free ((*names)[i]);
    else
      (*names)[kept++] = (*names)[i];
  }
  *n = kept;
  return 0;
}

/* Each VM named (or with all, every VM) into its own backup; one
 * failing does not stop the others.  Returns how many failed, *tried
 * how many were tried. */
static size_t
backup_vms (struct repo *repo, const struct backup_vm_opts *vmo,
            char *const *names, size_t n, bool all,
            const struct opt_strings *ex, size_t *tried)
{
  struct vm_host *host = vm_host_open (vmo->uri);
  char **listed = NULL;
  size_t failed = 0;

  *tried = all ? 1 : n;
  if (host == NULL) {
    cli_error ("%s", get_error ());
    return *tried;
  }
  if (all) {
    if (all_vms (host, ex, &listed, &n) == -1) {
      vm_host_close (host);
      return 1;
    }
    names = listed;
    *tried = n;
  }
  for (size_t i = 0; i < n; i++)
    if (backup_vm (repo, host, vmo, names[i]) == -1) {
      cli_error ("backup %s: %s", names[i], get_error ());
      failed++;
    }
  for (size_t i = 0; listed && i < n; i++)
    free (listed[i]);
  free (listed);
  vm_host_close (host);
  return failed;
}

int
cmd_backup (int argc, char **argv)
{
  struct image_arg images[256];
  const char *image_specs[256];
  struct opt_strings specs = OPT_STRINGS_INIT (image_specs);
  size_t nimages = 0, failed = 0;
  const char *repo_opt = NULL;
  int level = DEFAULT_LEVEL, c;
  struct repo *repo;
  struct backup_vm_opts vmo = { .uri = global_uri,
                                .consistency = "auto",
                                .downtime_warn_ms = 1000 };
  struct cli_report report;
  struct event_log events;
  size_t nvms;
  bool with_host = false, all = false;
  const char *exclude_v[256];
  struct opt_strings excludes = OPT_STRINGS_INIT (exclude_v);
  struct host_backup_opts ho = { 0 };
  const struct opt opts[] = {
    OPT_FLAG (0, "all", &all,
              "every VM the host defines (running, paused, shut "
              "off) and the host's configuration"),
    OPT_STRING_LIST (0, "exclude", &excludes, "VM",
                     "with --all: leave this VM out; repeatable"),
    OPT_FLAG (0, "host", &with_host,
              "back up the host's configuration (networks, "
              "pools, secrets, filters, /etc/libvirt) as a backup of kind "
              "host"),
    OPT_FLAG (0, "no-secret-values", &ho.no_secret_values,
              "with --host: keep secrets' definitions without their values"),
    OPT_STRING_LIST (0, "image", &specs, "NAME=PATH",
                     "back up the disk "
                     "image file PATH (raw or qcow2) as backup NAME; "
                     "repeatable"),
    OPT_CHOICE (0, "consistency", &vmo.consistency,
                "auto|application|crash|offline",
                "how VMs are read (default auto; see above)"),
    OPT_INT (0, "compression", &level, "N", 1, 19, "compression level",
             "zstd level, 1-19 (default 1)"),
    OPT_INT (0, "downtime-warn", &vmo.downtime_warn_ms, "MS", 0, 3600000, NULL,
             "event 1031 when an offline backup suspends a VM "
             "longer (default 1000)"),
    OPT_CONNECT (&vmo.uri),
    OPT_REPO (&repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((c = parse_options ("backup", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  for (size_t i = 0; i < specs.len; i++)
    if ((c = add_image ((char *) specs.v[i], images, &nimages)) != PARSE_GO_ON)
      return c;
  nvms = argc - optind;
  if (all && nvms)
    return cli_usage_error ("backup", "--all or VM names, not both");
  if (excludes.len && !all)
    return cli_usage_error ("backup", "--exclude goes with --all");
  with_host |= all;
  if (nimages == 0 && nvms == 0 && !with_host)
    return cli_usage_error ("backup",
                            "nothing to back up (name VMs, or use "
                            "--image or --host)");
  if (ho.no_secret_values && !with_host)
    return cli_usage_error ("backup", "--no-secret-values goes with --host");
  vmo.level = level;
  if (cli_open_events (&events) == -1)
    return EXIT_FAIL;
  vmo.events = &events;
  cli_report_init (&report);
  vmo.report = &report.rep;
  repo = cli_open_repo (repo_opt);
  if (repo == NULL) {
    event_log_close (&events);
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < nimages; i++) {
    struct image_result res;
    char sz[32], rd[32], nw[32];

    if (backup_image (repo, &images[i], level, &events, &report.rep, &res)
        == -1) {
      cli_error ("backup %s: %s", images[i].name, get_error ());
      failed++;
    }
    else
      printf ("backup %s: %s, %s read, %s new, %.1f s\n", res.id,
              format_size (res.size, sz, sizeof sz),
              format_size (res.bytes_read, rd, sizeof rd),
              format_size (res.stored_new, nw, sizeof nw), res.seconds);
  }
  if (nvms || all) {
    failed += backup_vms (repo, &vmo, argv + optind, nvms, all, &excludes,
                          &nvms);
  }
  /* After the VMs: a host backup is the point in time restore --all
   * picks each VM's newest backup at or before. */
  if (with_host) {
    struct vm_host *h = vm_host_open (vmo.uri);
    char *id = NULL;

    ho.level = level;
    ho.events = &events;
    if (h == NULL || backup_host_config (repo, h, &ho, &id) == -1) {
      cli_error ("backup --host: %s", get_error ());
      failed++;
    }
    else
      printf ("backup %s: the host's configuration\n", id);
    free (id);
    vm_host_close (h);
  }
  if (nimages + nvms + with_host > 1)
    printf ("%zu of %zu backups succeeded\n",
            nimages + nvms + with_host - failed, nimages + nvms + with_host);
  repo_close (repo);
  event_log_close (&events);
  return failed ? EXIT_FAIL : EXIT_OK;
}
