/* vmbackup entry point: global options, then one subcommand from the
 * table in commands.c, which also drives --help (git's git.c + builtin/
 * shape). */
#include <errno.h>
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
#include "key_source.h"

const char *global_repo;
const char *global_uri;
const char *global_event_log;

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

int
cli_usage_error (const char *name, const char *fmt, ...)
{
  va_list ap;

  fputs ("vmbackup: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, "\nTry 'vmbackup %s%s--help'.\n", name ? name : "",
           name ? " " : "");
  return EXIT_USAGE;
}

const char *
cli_repo_path (const char *opt)
{
  const char *path = opt ? opt
    : global_repo        ? global_repo
                         : getenv ("VMBACKUP_REPO");

  if (path == NULL || path[0] == '\0') {
    cli_error ("no repository: use --repo DIR|URL or set VMBACKUP_REPO");
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
               "PATH)",
               get_error ());
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
  else if (cli_current && cli_repo_keys (repo, cli_current->key) == -1) {
    repo_close (repo);
    repo = NULL;
  }
  return repo;
}

static void
main_help (FILE *f)
{
  fprintf (f,
           "usage: vmbackup [-c URI] [--repo DIR] [--event-log PATH] "
           "[--key-file PATH]\n"
           "                [--s3-endpoint URL] COMMAND [ARGS]\n\n"
           "Back up and restore virtual machine disks.\n\nCommands:\n");
  for (const struct command *c = commands; c->name; c++)
    fprintf (f, "  %-9s %s\n", c->name, c->summary);
  fprintf (f,
           "\n'vmbackup COMMAND --help' describes one command.\n"
           "The repository is --repo DIR or $VMBACKUP_REPO: a directory, or\n"
           "ssh://[USER@]HOST[:PORT]/PATH for one served by 'vmbackup "
           "serve',\n"
           "or s3://BUCKET/PREFIX on S3 object storage (--s3-endpoint URL or\n"
           "$VMBACKUP_S3_ENDPOINT for one that is not AWS).\n"
           "The key of an encrypted repository is --key-file PATH,\n"
           "$VMBACKUP_PASSWORD_FILE, $VMBACKUP_PASSWORD, or asked on the "
           "terminal.\n");
}

/* Global options: before the command, as they may also come after it. */
#define OPT_HELP 'h'
#define OPT_REPO 0x100
#define OPT_KEY_FILE 0x101
#define OPT_S3_ENDPOINT 0x102

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "repo", required_argument, NULL, OPT_REPO },
    { "connect", required_argument, NULL, 'c' },
    { "event-log", required_argument, NULL, 'E' },
    { "key-file", required_argument, NULL, OPT_KEY_FILE },
    { "s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  /* The guardian (virt/guard.h): not a user command. */
  if (argc == 4 && strcmp (argv[1], "__guard") == 0)
    return guard_main (argv[2], argv[3]);
  opterr = 0; /* one line, ours, as commands do */
  /* '+': stop at the command name; its options are its own. */
  while ((c = getopt_long (argc, argv, "+:hc:", opts, NULL)) != -1) {
    switch (c) {
      case OPT_REPO: global_repo = optarg; break;
      case 'c': global_uri = optarg; break;
      case 'E': global_event_log = optarg; break;
      case OPT_KEY_FILE: global_key_file = optarg; break;
      case OPT_S3_ENDPOINT:
        /* The S3 backend reads the endpoint where every other program
         * of the job (and a serve it starts) finds it too; the option
         * wins over what the environment said. */
        if (setenv ("VMBACKUP_S3_ENDPOINT", optarg, 1) == -1) {
          cli_error ("--s3-endpoint: %s", strerror (errno));
          return EXIT_FAIL;
        }
        break;
      case OPT_HELP: main_help (stdout); return EXIT_OK;
      case 'V': printf ("vmbackup %s\n", VMBACKUP_VERSION); return EXIT_OK;
      case ':':
        return cli_usage_error (NULL, "option '%s' needs a value",
                                argv[optind - 1]);
      default:
        return cli_usage_error (NULL, "unrecognized option '%s'",
                                argv[optind - 1]);
    }
  }
  /* A key file from the environment is the same source as --key-file
   * (jobs and systemd units set it once); the option wins. */
  if (global_key_file == NULL && getenv ("VMBACKUP_KEY_FILE")
      && getenv ("VMBACKUP_KEY_FILE")[0])
    global_key_file = getenv ("VMBACKUP_KEY_FILE");
  if (optind >= argc) {
    main_help (stderr);
    return EXIT_USAGE;
  }
  for (const struct command *cmd = commands; cmd->name; cmd++)
    if (strcmp (cmd->name, argv[optind]) == 0) {
      return cli_dispatch (cmd, argc - optind, argv + optind);
    }
  cli_error ("unknown command '%s'", argv[optind]);
  fprintf (stderr, "Try 'vmbackup --help'.\n");
  return EXIT_USAGE;
}
