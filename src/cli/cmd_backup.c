/* vmbackup backup VM... --image NAME=PATH: back up VMs (vm/backup.h)
 * and standalone disk images (vm/image.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/events.h"
#include "common/units.h"
#include "repo/manifest.h"
#include "vm/backup.h"
#include "vm/image.h"
#include "cli.h"
#include "report.h"

/* zstd level 1 for disks, as Proxmox Backup Server has it: a VM backup
 * is bound by the CPU (hashing and compressing every byte read) and has
 * a window to fit in.  Level 3 stores 4% less of text and 10% less of
 * binaries after compression, at 50-60% of the speed (docs/vmbackup.pod,
 * --compression).  File backups keep level 3 (cmd_files.c). */
#define DEFAULT_LEVEL 1

int
cmd_backup (int argc, char **argv)
{
  static const struct option opts[] = {
    { "image", required_argument, NULL, 'i' },
    { "compression", required_argument, NULL, 'z' },
    { "consistency", required_argument, NULL, 'C' },
    { "connect", required_argument, NULL, 'c' },
    { "downtime-warn", required_argument, NULL, 'D' },
    { "repo", required_argument, NULL, OPT_REPO },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct image_arg images[256];
  size_t nimages = 0, failed = 0;
  const char *repo_opt = NULL;
  int level = DEFAULT_LEVEL, c;
  struct repo *repo;
  struct backup_vm_opts vmo = { .uri = global_uri, .consistency = "auto",
                                .downtime_warn_ms = 1000 };
  struct cli_report report;
  struct event_log events;
  size_t nvms;

  while ((c = getopt_long (argc, argv, "hc:", opts, NULL)) != -1) {
    switch (c) {
    case 'i': {
      char *eq = strchr (optarg, '=');
      if (eq == NULL || eq == optarg || eq[1] == '\0')
        return cli_usage_error ("backup", "--image wants NAME=PATH, got '%s'",
                                optarg);
      *eq = '\0';
      if (!name_is_valid (optarg))
        return cli_usage_error ("backup", "bad backup name '%s' (letters, "
                                "digits, '.', '_', '-'; at most 64)", optarg);
      for (size_t i = 0; i < nimages; i++)
        if (strcmp (images[i].name, optarg) == 0)
          return cli_usage_error ("backup", "name '%s' given twice", optarg);
      if (nimages == sizeof images / sizeof images[0])
        return cli_usage_error ("backup", "too many images");
      images[nimages].name = optarg;
      images[nimages++].path = eq + 1;
      break;
    }
    case 'z': {
      char *end;
      level = strtol (optarg, &end, 10);
      if (*end || level < 1 || level > 19)
        return cli_usage_error ("backup", "compression level must be 1-19");
      break;
    }
    case 'C':
      if (strcmp (optarg, "auto") && strcmp (optarg, "application")
          && strcmp (optarg, "crash") && strcmp (optarg, "offline"))
        return cli_usage_error ("backup", "--consistency is auto, "
                                "application, crash or offline");
      vmo.consistency = optarg;
      break;
    case 'c': vmo.uri = optarg; break;
    case 'D': {
      char *end;
      long ms = strtol (optarg, &end, 10);
      if (*end || ms < 0 || ms > 3600000)
        return cli_usage_error ("backup", "--downtime-warn takes milliseconds");
      vmo.downtime_warn_ms = ms;
      break;
    }
    case OPT_REPO: repo_opt = optarg; break;
    case OPT_HELP: cli_help ("backup"); return EXIT_OK;
    default: return cli_usage_error ("backup", "bad option");
    }
  }
  nvms = argc - optind;
  if (nimages == 0 && nvms == 0)
    return cli_usage_error ("backup", "nothing to back up (name VMs or use "
                            "--image)");
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

    if (backup_image (repo, &images[i], level, &events, &report.rep,
                      &res) == -1) {
      cli_error ("backup %s: %s", images[i].name, get_error ());
      failed++;
    }
    else
      printf ("backup %s: %s, %s read, %s new, %.1f s\n", res.id,
              format_size (res.size, sz, sizeof sz),
              format_size (res.bytes_read, rd, sizeof rd),
              format_size (res.stored_new, nw, sizeof nw), res.seconds);
  }
  if (nvms) {
    struct vm_host *host = vm_host_open (vmo.uri);
    if (host == NULL) {
      cli_error ("%s", get_error ());
      failed += nvms;
    }
    /* Each VM is independent: one failing does not stop the others. */
    for (int i = optind; host && i < argc; i++)
      if (backup_vm (repo, host, &vmo, argv[i]) == -1) {
        cli_error ("backup %s: %s", argv[i], get_error ());
        failed++;
      }
    vm_host_close (host);
  }
  if (nimages + nvms > 1)
    printf ("%zu of %zu backups succeeded\n", nimages + nvms - failed,
            nimages + nvms);
  repo_close (repo);
  event_log_close (&events);
  return failed ? EXIT_FAIL : EXIT_OK;
}
