/* Shared pieces of the command line: the command table, option
 * conventions, and the only place that prints errors. */
#ifndef VMB_CLI_H
#define VMB_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "repo/repo.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* What a command needs of an encrypted repository's key (the table
 * says; cli_open_repo acts on it, key_source.h). */
enum cli_key_use {
  KEY_UNUSED = 0, /* never asks: gc, prune, serve, info, key management */
  KEY_NEEDED,     /* encrypted: unlock, prompting if no other source */
  KEY_IF_GIVEN,   /* encrypted: unlock if a key is given (verify) */
};

struct command {
  const char *name;
  int (*fn) (int argc, char **argv); /* NULL: it has sub-commands */
  const char *summary;               /* for 'vmbackup --help' */
  const char *synopsis;              /* after "usage: vmbackup NAME " */
  const char *description;           /* --help, before the options */
  const struct command *sub;         /* files backup|ls|restore */
  enum cli_key_use key;              /* for cli_open_repo */
};

extern const struct command commands[];
/* "init", "files backup": the table's entry, or NULL. */
const struct command *cli_find_command (const char *path);
/* Run a command, or pick its sub-command from argv[1]. */
int cli_dispatch (const struct command *cmd, int argc, char **argv);
extern const char *global_repo;      /* --repo given before the command */
extern const char *global_uri;       /* -c URI given before the command */
extern const char *global_event_log; /* --event-log PATH */
extern const char *global_key_file;  /* --key-file PATH */
/* The command being run (cli_dispatch sets it). */
extern const struct command *cli_current;

int cmd_init (int argc, char **argv);
int cmd_backup (int argc, char **argv);
int cmd_list (int argc, char **argv);
int cmd_restore (int argc, char **argv);
int cmd_verify (int argc, char **argv);
int cmd_prune (int argc, char **argv);
int cmd_gc (int argc, char **argv);
int cmd_plan (int argc, char **argv);
int cmd_events (int argc, char **argv);
int cmd_files_backup (int argc, char **argv);
int cmd_files_ls (int argc, char **argv);
int cmd_files_restore (int argc, char **argv);
int cmd_serve (int argc, char **argv);
int cmd_info (int argc, char **argv);
int cmd_export (int argc, char **argv);
int cmd_key_list (int argc, char **argv);
int cmd_key_add (int argc, char **argv);
int cmd_key_remove (int argc, char **argv);
int cmd_key_passwd (int argc, char **argv);
int cmd_key_export (int argc, char **argv);
int cmd_job_list (int argc, char **argv);
int cmd_job_show (int argc, char **argv);
int cmd_job_run (int argc, char **argv);
int cmd_copy (int argc, char **argv);
int cmd_restore_test (int argc, char **argv);

/* "vmbackup: <message>" on stderr. */
void cli_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void cli_warning (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));
/* Unknown option or bad arguments: message and help pointer on stderr,
 * returns EXIT_USAGE. */
int cli_usage_error (const char *name, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* The repository from --repo or $VMBACKUP_REPO (a directory or an
 * ssh:// URL); NULL after printing
 * an error when neither is set. */
const char *cli_repo_path (const char *opt);
/* Open it (over ssh for an ssh:// URL), and unlock it if it is
 * encrypted and the running command needs the key (its table entry),
 * printing the error on failure. */
struct repo *cli_open_repo (const char *opt);

/* Open the host event log.  When none was configured and the default
 * cannot be written (not root), warn and go on with events kept only in
 * the backups; a configured one that fails is an error. */
struct event_log;
int cli_open_events (struct event_log *log);

/* Progress on a terminal; silent otherwise. */
struct progress {
  const char *label;
  bool enabled;
  double start, last;
};
void progress_init (struct progress *p, const char *label);
void progress_update (void *opaque, uint64_t done, uint64_t total);
void progress_finish (struct progress *p);

#endif
