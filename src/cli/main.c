/* vmbackup entry point: global options, then one subcommand from the
 * table, which also drives --help (git's git.c + builtin/ shape). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/events.h"
#include "repo/repo.h"
#include "virt/guard.h"
#include "cli.h"

const char *global_repo;
const char *global_uri;
const char *global_event_log;

const struct command commands[] = {
  { "init", cmd_init, "create a repository",
    "[--chunk-size SIZE]\n\n"
    "Create a repository in the --repo directory, which must be missing or\n"
    "empty.  Disks are cut in chunks of SIZE bytes (a power of two from 64K\n"
    "to 16M, default 4M); it cannot change later.\n" },
  { "backup", cmd_backup, "back up VMs and disk images",
    "[VM...] [--image NAME=PATH...]\n"
    "       [--consistency auto|application|crash|offline]\n\n"
    "Back up each libvirt VM (-c URI, default qemu:///system): its disks,\n"
    "domain XML and NVRAM.  auto is live and application-consistent when\n"
    "'plan' says so (guest filesystems frozen through the agent), offline\n"
    "otherwise (a running VM is suspended while the copy starts, then put\n"
    "back as it was; a shut-off VM is read directly).  crash is live\n"
    "without freezing.  Disks the host cannot read are named and left to\n"
    "an in-guest backup.\n\n"
    "--image backs up a disk image file (raw or qcow2) as backup NAME.\n"
    "Each VM and image is independent: one failing does not stop the\n"
    "others, and the exit status is 1 if any failed.\n\n"
    "  --compression N     zstd level, 1-19 (default 1)\n"
    "  --downtime-warn MS  event 1031 when an offline backup suspends\n"
    "                      a VM longer (default 1000)\n" },
  { "events", cmd_events, "list backup events",
    "[VM] [--since TIME] [--json] | --catalogue\n\n"
    "The events of the host log (--event-log PATH, $VMBACKUP_EVENT_LOG,\n"
    "default /var/log/vmbackup/events.log), oldest first, of one VM or\n"
    "image name, from TIME on (2026-11-25T03:00:00Z, or 2026-11-25).\n"
    "--catalogue lists every event ID; 'man 7 vmbackup-events' gives\n"
    "each one's cause, what to do, and whether it can be ignored.\n" },
  { "list", cmd_list, "list backups",
    "[--json] [NAME]\n\n"
    "One line per backup, oldest first: ID, time (UTC), logical size, new\n"
    "bytes it stored, consistency.\n" },
  { "restore", cmd_restore, "restore a VM or a disk",
    "ID [--replace] [--as NAME] [--storage DIR]\n"
    "       [--config-only] [--start]\n"
    "   or: vmbackup restore ID --to PATH [--disk NAME] [--format raw|qcow2]\n"
    "   or: vmbackup restore ID --file FILE --to PATH\n\n"
    "ID is a NAME (its latest backup) or an ID that 'list' prints.\n\n"
    "A VM backup comes back whole: definition, disks (qcow2 stays thin,\n"
    "raw stays sparse), NVRAM, TPM state, snapshot metadata, at the\n"
    "original paths, and boot files (kernel, firmware) the host lacks.\n"
    "Every disk is written and checked before anything existing is\n"
    "touched.  A VM that exists is refused unless:\n"
    "  --replace       turn it off, undefine it, delete its disks, and put\n"
    "                  the restored VM in its place (running if it ran)\n"
    "  --as NAME       restore beside it: new name, UUID, MACs, disk files\n"
    "  --storage DIR   put disks and NVRAM in DIR\n"
    "  --config-only   define the VM with blank disks of the same sizes\n"
    "  --start         start the restored VM\n\n"
    "--to writes one disk (--disk NAME when there are several, including\n"
    "TARGET@SNAPSHOT) to an image file that must not exist, sparse and\n"
    "byte-identical to the source at backup time.  --file writes one file\n"
    "kept with a VM (domain.xml, the NVRAM or a boot file's path, as\n"
    "'list --json' names them) to a file that must not exist.\n" },
  { "verify", cmd_verify, "check backups against their digests",
    "[ID...]\n\n"
    "Re-read every chunk the given backups (default: all) reference and\n"
    "check its digest.  Each problem is named by backup, disk and offset.\n"
    "Exit status 1 if anything is bad.\n" },
  { "prune", cmd_prune, "delete backups by retention policy",
    "[NAME] RULE... [--dry-run]\n\n"
    "Rules: --keep-last N, --keep-hourly N, --keep-daily N, --keep-weekly N,\n"
    "       --keep-monthly N, --keep-yearly N.\n\n"
    "Keep the backups some rule selects (per name) and delete the others.\n"
    "Chunks are freed by a later 'vmbackup gc'.\n" },
  { "plan", cmd_plan, "say how each VM would be backed up",
    "VM... [--json]\n\n"
    "For each VM: its state, whether the backup can be live (every\n"
    "condition checked: guest agent with freeze, freezable filesystems,\n"
    "scratch space on the disk's storage) or is offline and why, and each\n"
    "disk as included or excluded with the reason.  -c URI (before or\n"
    "after the command) picks the libvirt connection (default\n"
    "qemu:///system).\n" },
  { "files", cmd_files, "back up and restore files and directories",
    "backup --name NAME [--exclude PATTERN]... [--one-file-system]\n"
    "                      [--reread] [--compression N] PATH...\n"
    "   or: vmbackup files ls ID [PATH] [--json]\n"
    "   or: vmbackup files restore ID --to DIR [PATH...]\n\n"
    "backup stores the trees under each PATH (inside a guest, or on any\n"
    "Linux machine) as backup NAME: contents cut at content-defined\n"
    "points (deduplicated against every backup in the repository),\n"
    "owners, modes, times, xattrs, ACLs, symlinks, hard links, devices,\n"
    "FIFOs and holes.  A file that keeps changing while it is read is\n"
    "stored as last read and reported (event 3000).  Sockets are skipped.\n"
    "  --exclude PATTERN   leave out what matches (a glob; with a '/' it\n"
    "                      is matched against the whole path, else the name)\n"
    "  --one-file-system   do not enter other mounted file systems\n"
    "  --reread            read every file, even those the last backup of\n"
    "                      NAME has with the same size, mtime, ctime, inode\n\n"
    "ls lists the entries (all, or PATH and what is under it).\n\n"
    "restore recreates the backup, or only the PATHs and what is under\n"
    "them, inside DIR (created if missing; existing files are replaced,\n"
    "nothing outside DIR is touched).  Without root, ownership, device\n"
    "nodes and some xattrs are left out with one warning each.\n" },
  { "serve", cmd_serve, "serve a repository to vmbackup over ssh",
    "[--append-only] [--restrict-to-path DIR]...\n\n"
    "Answer the vmbackup protocol on standard input and output: what\n"
    "'ssh HOST vmbackup serve' runs for --repo ssh://[USER@]HOST[:PORT]/PATH.\n"
    "Usually the forced command of a key in authorized_keys:\n"
    "  command=\"vmbackup serve --append-only --restrict-to-path /backup\"\n"
    "  --append-only           backups can be added and read, but not\n"
    "                          deleted, pruned, gc'ed or overwritten\n"
    "  --restrict-to-path DIR  only repositories at or under DIR (after\n"
    "                          resolving symlinks and '..'); repeatable\n\n"
    "The client runs $VMBACKUP_RSH (default 'ssh') and, on the far side,\n"
    "$VMBACKUP_REMOTE_PATH (default 'vmbackup').\n" },
  { "gc", cmd_gc, "delete chunks no backup references",
    "[--dry-run]\n\n"
    "Delete unreferenced chunks and indexes.  Safe while backups run:\n"
    "anything a running backup uses is kept.\n" },
  { NULL, NULL, NULL, NULL },
};

static void
print_message (const char *prefix, const char *fmt, va_list ap)
{
  fputs (prefix, stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
}

void
cli_error (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  print_message ("vmbackup: ", fmt, ap);
  va_end (ap);
}

void
cli_warning (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  print_message ("vmbackup: warning: ", fmt, ap);
  va_end (ap);
}

void
cli_help (const char *name)
{
  for (const struct command *c = commands; c->name; c++)
    if (strcmp (c->name, name) == 0) {
      printf ("usage: vmbackup [--repo DIR] %s %s", c->name, c->usage);
      printf ("\nThe repository is --repo DIR or $VMBACKUP_REPO (a directory, "
              "or\nssh://[USER@]HOST[:PORT]/PATH).\n");
      return;
    }
}

int
cli_usage_error (const char *name, const char *fmt, ...)
{
  va_list ap;

  fputs ("vmbackup: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, "\nTry 'vmbackup %s --help'.\n", name ? name : "");
  return EXIT_USAGE;
}

const char *
cli_repo_path (const char *opt)
{
  const char *path = opt ? opt : global_repo ? global_repo
    : getenv ("VMBACKUP_REPO");

  if (path == NULL || path[0] == '\0') {
    cli_error ("no repository: use --repo DIR or set VMBACKUP_REPO");
    return NULL;
  }
  return path;
}

int
cli_open_events (struct event_log *log)
{
  const char *configured = global_event_log ? global_event_log
    : getenv ("VMBACKUP_EVENT_LOG");

  if (event_log_open (log, configured) == 0)
    return 0;
  if (configured) {
    cli_error ("%s", get_error ());
    return -1;
  }
  cli_warning ("%s: events are kept only in the backups (use --event-log "
               "PATH)", get_error ());
  memset (log, 0, sizeof *log);
  log->fd = -1;
  return 0;
}

struct repo *
cli_open_repo (const char *opt)
{
  const char *path = cli_repo_path (opt);
  struct repo *repo;

  if (path == NULL)
    return NULL;
  repo = repo_open (path);
  if (repo == NULL)
    cli_error ("%s", get_error ());
  return repo;
}

static void
main_help (FILE *f)
{
  fprintf (f, "usage: vmbackup [-c URI] [--repo DIR] [--event-log PATH] "
           "COMMAND [ARGS]\n\n"
           "Back up and restore virtual machine disks.\n\nCommands:\n");
  for (const struct command *c = commands; c->name; c++)
    fprintf (f, "  %-9s %s\n", c->name, c->summary);
  fprintf (f, "\n'vmbackup COMMAND --help' describes one command.\n"
           "The repository is --repo DIR or $VMBACKUP_REPO: a directory, or\n"
           "ssh://[USER@]HOST[:PORT]/PATH for one served by 'vmbackup serve'.\n");
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "repo", required_argument, NULL, OPT_REPO },
    { "connect", required_argument, NULL, 'c' },
    { "event-log", required_argument, NULL, 'E' },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  /* The guardian (virt/guard.h): not a user command. */
  if (argc == 4 && strcmp (argv[1], "__guard") == 0)
    return guard_main (argv[2], argv[3]);
  /* '+': stop at the command name; its options are its own. */
  while ((c = getopt_long (argc, argv, "+hc:", opts, NULL)) != -1) {
    switch (c) {
    case OPT_REPO:
      global_repo = optarg;
      break;
    case 'c':
      global_uri = optarg;
      break;
    case 'E':
      global_event_log = optarg;
      break;
    case OPT_HELP:
      main_help (stdout);
      return EXIT_OK;
    case 'V':
      printf ("vmbackup %s\n", VMBACKUP_VERSION);
      return EXIT_OK;
    default:
      fprintf (stderr, "Try 'vmbackup --help'.\n");
      return EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    main_help (stderr);
    return EXIT_USAGE;
  }
  for (const struct command *cmd = commands; cmd->name; cmd++)
    if (strcmp (cmd->name, argv[optind]) == 0) {
      argv += optind;
      argc -= optind;
      optind = 0;               /* full getopt reset for the command */
      return cmd->fn (argc, argv);
    }
  cli_error ("unknown command '%s'", argv[optind]);
  fprintf (stderr, "Try 'vmbackup --help'.\n");
  return EXIT_USAGE;
}
