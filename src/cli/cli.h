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
int cmd_mount (int argc, char **argv);
int cmd_umount (int argc, char **argv);
int cmd_find (int argc, char **argv);
/* restore ID --path P... --to DIR (restore_path_copy.c): files out of a disk. */
/* restore ID --instant (vo: the restore's options) and
 * restore --instant-status (cmd_restore_instant.c). */
struct repo;
struct manifest;
struct restore_vm_opts;
int cli_restore_instant (struct repo *repo, const struct manifest *m,
                         struct restore_vm_opts *vo, int bandwidth_mib);
int cli_instant_status (void);
/* restore ID --to PATH (restore_disk_to.c): one disk into an image. */
int cli_restore_disk_to (struct repo *repo, const struct manifest *m,
                         const char *diskname, const char *to,
                         const char *format, bool resume, int bandwidth_mib);
int cli_restore_paths (const char *repo_opt, const char *id,
                       const char *diskname, const char **paths, size_t npaths,
                       const char *to);
/* For the export and what runs one (cmd_export.c): the key for the
 * plugin through a pipe (-1 when none is needed or on error, then
 * printed and *failed set), and the disk a backup has by name (or its
 * only one), NULL after printing why not (restore --to uses it too). */
struct repo;
struct manifest;
struct manifest_disk;
int cli_export_key_pipe (struct repo *repo, bool *failed);
/* The same in two steps, for several exports: the exported key as text
 * (-1 when none is needed or on error, as above), and a pipe holding
 * it (-1 after printing why not). */
struct strbuf;
int cli_export_key_text (struct repo *repo, struct strbuf *text, bool *failed);
int cli_key_text_pipe (const struct strbuf *text);
const struct manifest_disk *cli_pick_disk (const struct manifest *m,
                                           const char *name);
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
/* The same, opened at its first event (prune and gc write one only
 * when Object Lock kept something): state 0 not yet, 1 open, -1 none. */
struct cli_lazy_events {
  int state;
  struct event_log *log;
};
struct event_log *cli_lazy_events (struct cli_lazy_events *le);

/* Progress on a terminal; silent otherwise. */
struct progress {
  const char *label;
  bool enabled;
  double start, last;
  uint64_t base; /* done at the first update (a resumed restore's
                  * earlier runs): not counted in the rate */
};
void progress_init (struct progress *p, const char *label);
void progress_update (void *opaque, uint64_t done, uint64_t total);
void progress_finish (struct progress *p);

#endif
