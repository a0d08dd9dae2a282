/* The command table: what dispatch and every --help read (git's git.c
 * commands[]).  Each command's options, with their help, are declared
 * beside its parsing in cmd_*.c; here are its usage line and what it
 * does, wrapped by hand to fit 80 columns. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "parse_options.h"

static const struct command files_commands[] = {
  { "backup", cmd_files_backup, "back up files and directories",
    "--name NAME [OPTIONS] PATH...",
    "Store the trees under each PATH (inside a guest, or on any Linux\n"
    "machine) as backup NAME: contents cut at content-defined points\n"
    "(deduplicated against every backup in the repository), owners, modes,\n"
    "times, xattrs, ACLs, symlinks, hard links, devices, FIFOs and holes.\n"
    "A file that keeps changing while it is read is stored as last read\n"
    "and reported (event 3000).  Sockets are skipped.",
    NULL, KEY_NEEDED },
  { "ls", cmd_files_ls, "list the entries of a file backup",
    "ID [PATH] [--json]",
    "List the entries of file backup ID (all, or PATH and what is under\n"
    "it).",
    NULL, KEY_NEEDED },
  { "restore", cmd_files_restore, "restore a file backup",
    "ID --to DIR [PATH...]",
    "Recreate the backup, or only the PATHs and what is under them, inside\n"
    "DIR (created if missing; existing files are replaced, nothing outside\n"
    "DIR is touched).  Without root, ownership, device nodes and some\n"
    "xattrs are left out with one warning each.",
    NULL, KEY_NEEDED },
  { NULL, NULL, NULL, NULL, NULL, NULL },
};

/* Key management opens the master key itself (cmd_key.c), so none of
 * these asks through the table. */
static const struct command key_commands[] = {
  { "list", cmd_key_list, "list the key slots", "[--json]",
    "One line per key slot: ID, kind (passphrase or key file), label,\n"
    "creation time (UTC), and '*' beside the slot the given key opens.",
    NULL },
  { "add", cmd_key_add, "add a key slot",
    "[--new-key-file PATH] [--label LABEL]",
    "Add a passphrase ($VMBACKUP_NEW_PASSWORD, or asked twice on the\n"
    "terminal) or, with --new-key-file, a new key file (created, mode\n"
    "0600; an existing file is refused) that opens the repository.  The\n"
    "key given as usual (--key-file, $VMBACKUP_PASSWORD...) must open it.",
    NULL },
  { "remove", cmd_key_remove, "remove a key slot", "SLOT",
    "Remove key slot SLOT (an ID 'key list' prints).  The last slot is\n"
    "never removed.",
    NULL },
  { "passwd", cmd_key_passwd, "replace a key slot",
    "SLOT [--new-key-file PATH] [--label LABEL]",
    "Add a new slot as 'key add' does, then remove SLOT.", NULL },
  { "export", cmd_key_export, "print the master key for safekeeping",
    "[--to FILE]",
    "Print the master key in a printable form (repository ID, cipher, key,\n"
    "check), or write it to FILE (mode 0600; must not exist).  Kept\n"
    "offline, it opens the repository as --key-file FILE even when every\n"
    "key slot is lost.  Whoever holds it reads every backup.",
    NULL },
  { NULL, NULL, NULL, NULL, NULL, NULL },
};

/* Each job opens its repository with the key its file names. */
static const struct command job_commands[] = {
  { "list", cmd_job_list, "list the jobs", "[--jobs-dir DIR]",
    "One line per job file: name, repository, what it backs up.  A job\n"
    "file that does not parse is named with its error (exit status 1).",
    NULL },
  { "show", cmd_job_show, "show a job as it will run", "NAME [--jobs-dir DIR]",
    "Every setting of job NAME, defaults included, as 'key = value'\n"
    "lines.",
    NULL },
  { "run", cmd_job_run, "run a job now",
    "NAME [--jobs-dir DIR] [--state-dir DIR]",
    "Back up each of the job's targets (one failing does not stop the\n"
    "others), prune each target's backups by the job's keep-* rules,\n"
    "and verify the job's backups when its verify cadence is due.  Ends\n"
    "with a one-line summary, writes STATE-DIR/NAME.json and the\n"
    "Prometheus file, and runs the notify command if anything failed.\n"
    "Exit status 1 if anything failed, or if another run of the job is\n"
    "still going.  'man vmbackup-jobs' has the job file format.",
    NULL, KEY_NEEDED },
  { NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct command commands[] = {
  { "init", cmd_init, "create a repository",
    "[--chunk-size SIZE]\n"
    "       [--encryption aes-256-gcm|chacha20-poly1305|none]\n"
    "       [--key-label LABEL] [--key-from REPO]",
    "Create a repository in the --repo directory, which must be missing or\n"
    "empty.  An encrypted one gets a random master key and a first key\n"
    "slot for the key given (--key-file PATH, created if missing;\n"
    "$VMBACKUP_PASSWORD_FILE; $VMBACKUP_PASSWORD; or a passphrase asked\n"
    "twice on the terminal).  --key-from REPO takes REPO's master key,\n"
    "cipher and chunk size instead, so that 'copy' between the two sends\n"
    "chunks as stored.",
    NULL },
  { "export", cmd_export, "serve a disk of a backup over NBD",
    "ID [--disk TARGET]\n"
    "       --socket PATH | --port N [--bind ADDR]",
    "Serve one disk of a backup read-only over NBD (nbdkit with the\n"
    "vmbackup plugin) until stopped with Ctrl-C or SIGTERM: qemu-img,\n"
    "qemu-nbd, nbdcopy and nbdfuse read it like any NBD export.  Chunks\n"
    "are decoded once, through a bounded cache; block status shows holes\n"
    "without reading them; a damaged chunk is an I/O error for its range\n"
    "and an event, never wrong data.",
    NULL },
  { "mount", cmd_mount, "show a backup's guest file systems under a directory",
    "ID [--disk TARGET] DIR",
    "Show the file systems of one disk of a backup read-only under the\n"
    "empty directory DIR, one directory per partition or logical volume\n"
    "(DIR/vda1, DIR/vg0-root), until 'vmbackup umount DIR'.  The disk is\n"
    "served by the export and read by the libguestfs appliance (MBR, GPT,\n"
    "LVM, ext4, xfs, vfat and more; no kernel module on the host), shown\n"
    "through FUSE.  A file system it cannot read is named and left out.",
    NULL },
  { "umount", cmd_umount, "end a 'vmbackup mount'", "DIR",
    "Unmount DIR and stop everything its mount started (the appliance,\n"
    "the export), also after the mount was killed.",
    NULL },
  { "find", cmd_find, "which backups hold a file",
    "PATTERN NAME|ID... [--disk TARGET] [--json]",
    "Print every file, directory or link whose path in the guest matches\n"
    "PATTERN (a shell glob of an absolute path: /etc/fstab,\n"
    "/home/*/.ssh/authorized_keys; '*' does not cross '/') in each backup\n"
    "of NAME or in backup ID, without restoring a disk: a files backup\n"
    "is searched in its catalogue, a disk backup in its guest file\n"
    "systems, each disk mounted read-only in turn as 'vmbackup mount'\n"
    "does.  A line per match: ID DISK TYPE SIZE MTIME PATH, the path as\n"
    "'restore --path' takes it (/vda1/etc/fstab).  Exit status 0 when\n"
    "something matched, 1 when nothing did or a backup could not be read.",
    NULL, KEY_NEEDED },
  { "info", cmd_info, "describe the repository", "[--json]",
    "Format version, ID, chunk size, encryption and number of key slots.\n"
    "Needs no key.",
    NULL },
  { "key", NULL, "manage the keys of an encrypted repository",
    "list [--json]\n"
    "   or: vmbackup key add [--new-key-file PATH] [--label LABEL]\n"
    "   or: vmbackup key remove SLOT\n"
    "   or: vmbackup key passwd SLOT [--new-key-file PATH] [--label LABEL]\n"
    "   or: vmbackup key export [--to FILE]",
    "Key slots each wrap the repository's master key for one passphrase\n"
    "or key file.  'vmbackup key CMD --help' describes one command.",
    key_commands },
  { "backup", cmd_backup, "back up VMs and disk images",
    "[VM...] [--image NAME=PATH...]\n"
    "       [--consistency auto|application|crash|offline]",
    "Back up each libvirt VM (-c URI, default qemu:///system): its disks,\n"
    "domain XML and NVRAM.  auto is live and application-consistent when\n"
    "'plan' says so (guest filesystems frozen through the agent), offline\n"
    "otherwise (a running VM is suspended while the copy starts, then put\n"
    "back as it was; a shut-off VM is read directly).  crash is live\n"
    "without freezing.  Disks the host cannot read are named and left to\n"
    "an in-guest backup.\n\n"
    "--image backs up a disk image file (raw or qcow2) as backup NAME.\n"
    "Each VM and image is independent: one failing does not stop the\n"
    "others, and the exit status is 1 if any failed.",
    NULL, KEY_NEEDED },
  { "events", cmd_events, "list backup events",
    "[VM] [--since TIME] [--json] | --catalogue",
    "The events of the host log, oldest first, of one VM or image name,\n"
    "from TIME on.  'man 7 vmbackup-events' gives each event's cause, what\n"
    "to do, and whether it can be ignored.",
    NULL },
  { "list", cmd_list, "list backups", "[--json] [NAME]",
    "One line per backup, oldest first: ID, time (UTC), logical size, new\n"
    "bytes it stored, consistency.",
    NULL, KEY_NEEDED },
  { "restore", cmd_restore, "restore a VM or a disk",
    "ID [--replace] [--as NAME] [--storage DIR]\n"
    "       [--config-only] [--start]\n"
    "   or: vmbackup restore ID --to PATH [--disk NAME] [--format raw|qcow2]\n"
    "       [--resume] [--bandwidth MIB]\n"
    "   or: vmbackup restore ID --file FILE --to PATH",
    "ID is a NAME (its latest backup) or an ID that 'list' prints.\n\n"
    "A VM backup comes back whole: definition, disks (qcow2 stays thin,\n"
    "raw stays sparse), NVRAM, TPM state, snapshot metadata, at the\n"
    "original paths, and boot files (kernel, firmware) the host lacks.\n"
    "Every disk is written and checked before anything existing is\n"
    "touched.  A VM that exists is refused unless --replace, --as or\n"
    "--storage says where it goes.\n\n"
    "--to writes one disk to an image file that must not exist, sparse\n"
    "and byte-identical to the source at backup time; until it is whole\n"
    "it is written as .NAME.vmbackup-partial beside PATH.  With --resume,\n"
    "a restore killed or failed keeps that file, and the same command\n"
    "run again goes on from it.  --file writes one\n"
    "file kept with a VM (domain.xml, the NVRAM or a boot file's path, as\n"
    "'list --json' names them) to a file that must not exist.",
    NULL, KEY_NEEDED },
  { "restore-test", cmd_restore_test, "prove backups boot",
    "ID... [--check CHECK]... [--timeout S] [--json]\n"
    "       [--state-dir DIR]",
    "Restore each VM backup beside everything as a throw-away VM (new\n"
    "name, UUID, MACs and files), every NIC on an isolated network made\n"
    "for it, boot it, wait for its guest agent and run the checks: agent\n"
    "(guest-ping), exec:CMD (CMD in the guest exits with STATUS, default\n"
    "0), tcp:PORT (a connection to PORT inside the guest).  Then remove\n"
    "all it made.  The original VM is not touched.  What a run killed\n"
    "with SIGKILL left is removed by the next run.  Exit status 1 if any\n"
    "test failed.",
    NULL, KEY_NEEDED },
  { "verify", cmd_verify, "check backups against their digests", "[ID...]",
    "Re-read every chunk the given backups (default: all) reference and\n"
    "check its digest.  Each problem is named by backup, disk and offset.\n"
    "Exit status 1 if anything is bad.",
    NULL, KEY_IF_GIVEN },
  { "prune", cmd_prune, "delete backups by retention policy",
    "[NAME] --keep-RULE N... [--dry-run]",
    "Keep the backups some rule selects (per name) and delete the others.\n"
    "Chunks are freed by a later 'vmbackup gc'.",
    NULL },
  { "plan", cmd_plan, "say how each VM would be backed up", "VM... [--json]",
    "For each VM: its state, whether the backup can be live (every\n"
    "condition checked: guest agent with freeze, freezable filesystems,\n"
    "scratch space on the disk's storage) or is offline and why, and each\n"
    "disk as included or excluded with the reason.",
    NULL },
  { "files", NULL, "back up and restore files and directories",
    "backup --name NAME [OPTIONS] PATH...\n"
    "   or: vmbackup files ls ID [PATH] [--json]\n"
    "   or: vmbackup files restore ID --to DIR [PATH...]",
    "File backups, inside a guest or on any Linux machine, in the same\n"
    "repository as VM backups.  'vmbackup files CMD --help' describes\n"
    "one command and its options.",
    files_commands },
  { "serve", cmd_serve, "serve a repository to vmbackup over ssh",
    "[--append-only] [--restrict-to-path DIR]...",
    "Answer the vmbackup protocol on standard input and output: what\n"
    "'ssh HOST vmbackup serve' runs for --repo "
    "ssh://[USER@]HOST[:PORT]/PATH.\n"
    "Usually the forced command of a key in authorized_keys:\n"
    "  command=\"vmbackup serve --append-only --restrict-to-path /backup\"\n\n"
    "The client runs $VMBACKUP_RSH (default 'ssh') and, on the far side,\n"
    "$VMBACKUP_REMOTE_PATH (default 'vmbackup').",
    NULL },
  { "job", NULL, "run scheduled backup jobs",
    "list [--jobs-dir DIR]\n"
    "   or: vmbackup job show NAME [--jobs-dir DIR]\n"
    "   or: vmbackup job run NAME [--jobs-dir DIR] [--state-dir DIR]",
    "A job (one file per job in /etc/vmbackup/jobs, 'man vmbackup-jobs')\n"
    "says what to back up, where, with which key, how long to keep it and\n"
    "how often to verify it; the systemd timer vmbackup@NAME.timer runs\n"
    "it.  'vmbackup job CMD --help' describes one command.",
    job_commands },
  { "copy", cmd_copy, "copy backups to another repository",
    "--to REPO [--from REPO] ID... | --name NAME | --all\n"
    "       [--dry-run] [--from-key-file PATH] [--to-key-file PATH]",
    "Copy backups, under their IDs, from --from (default --repo) into\n"
    "--to, sending only the chunks the target lacks.  Repositories that\n"
    "share a key (both in the clear, or made with 'init --key-from') get\n"
    "chunks as stored; otherwise each chunk is decrypted and encrypted\n"
    "again with the target's key.  A backup the target has is skipped,\n"
    "so a copy that was stopped is run again to finish.  Each side's key:\n"
    "--from-key-file, $VMBACKUP_FROM_KEY_FILE, $VMBACKUP_FROM_PASSWORD_FILE,\n"
    "$VMBACKUP_FROM_PASSWORD (--to-..., $VMBACKUP_TO_... for the target),\n"
    "then the usual sources.",
    NULL },
  { "gc", cmd_gc, "delete chunks no backup references", "[--dry-run]",
    "Delete unreferenced chunks and indexes.  Safe while backups run:\n"
    "anything a running backup uses is kept.",
    NULL },
  { NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct command *
find_in (const struct command *table, const char *name, size_t len)
{
  for (const struct command *c = table; c && c->name; c++)
    if (strlen (c->name) == len && strncmp (c->name, name, len) == 0)
      return c;
  return NULL;
}

const struct command *
cli_find_command (const char *path)
{
  const struct command *c = NULL, *table = commands;

  while (*path) {
    size_t len = strcspn (path, " ");
    c = find_in (table, path, len);
    if (c == NULL)
      return NULL;
    table = c->sub;
    path += len + strspn (path + len, " ");
  }
  return c;
}

/* "backup, ls or restore" */
static void
list_names (const struct command *table, char *buf, size_t len)
{
  buf[0] = '\0';
  for (const struct command *c = table; c->name; c++)
    snprintf (buf + strlen (buf), len - strlen (buf), "%s%s",
              c == table    ? ""
                : c[1].name ? ", "
                            : " or ",
              c->name);
}

const struct command *cli_current;

int
cli_dispatch (const struct command *cmd, int argc, char **argv)
{
  const struct command *sub;
  char names[128];

  optind = 0; /* full getopt reset for the command */
  if (cmd->fn) {
    cli_current = cmd;
    return cmd->fn (argc, argv);
  }
  list_names (cmd->sub, names, sizeof names);
  if (argc < 2)
    return cli_usage_error (cmd->name, "%s needs %s", cmd->name, names);
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
    print_command_help (cmd->name, NULL);
    return EXIT_OK;
  }
  sub = find_in (cmd->sub, argv[1], strlen (argv[1]));
  if (sub == NULL)
    return cli_usage_error (cmd->name, "unknown %s command '%s' (%s)",
                            cmd->name, argv[1], names);
  return cli_dispatch (sub, argc - 1, argv + 1);
}
