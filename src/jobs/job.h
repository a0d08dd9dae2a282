/* A job: what one scheduled run backs up, where, with which key, how
 * long backups are kept and how often they are verified.  One file per
 * job, NAME.conf in the jobs directory (default /etc/vmbackup/jobs),
 * "key = value" lines documented in docs/vmbackup-jobs.pod; parsed
 * strictly, so a typo is an error naming file, line and key rather than
 * a setting silently not applied. */
#ifndef VMB_JOBS_JOB_H
#define VMB_JOBS_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "common/vector.h"
#include "repo/prune.h"

#define JOB_DEFAULT_DIR "/etc/vmbackup/jobs"
#define JOB_DEFAULT_STATE_DIR "/var/lib/vmbackup/jobs"
/* Where Debian's prometheus-node-exporter reads textfile metrics. */
#define JOB_DEFAULT_PROM_DIR "/var/lib/prometheus/node-exporter"
#define JOB_MAX_CONCURRENCY 64

DEFINE_VECTOR_TYPE (job_string_vector, char *);

/* A host target (host = yes) is the host's configuration, backed up
 * last, once the others have finished (vmbackup backup --host). */
enum job_target_kind {
  JOB_TARGET_VM,
  JOB_TARGET_IMAGE,
  JOB_TARGET_FILES,
  JOB_TARGET_HOST
};

struct job_target {
  enum job_target_kind kind;
  char *name;              /* VM name, or the image's or files' backup name */
  job_string_vector paths; /* image: its one path; files: the roots */
};
DEFINE_VECTOR_TYPE (job_target_vector, struct job_target);

enum job_verify { JOB_VERIFY_NEVER, JOB_VERIFY_ALWAYS, JOB_VERIFY_EVERY };

struct job {
  char *name;
  char *path; /* the job file, for messages */
  char *repository;
  char *key_file, *password_file; /* at most one; NULL: the environment's */
  char *connect;                  /* libvirt URI, NULL: the default */
  const char *consistency;        /* auto, application, crash, offline */
  job_target_vector targets;      /* in the file's order */
  bool all_vms;                   /* vm = all */
  bool host;                      /* host = yes */
  job_string_vector excludes;     /* VMs 'all' leaves out */
  job_string_vector files_excludes;
  struct keep_policy keep; /* empty: nothing is pruned */
  enum job_verify verify;
  int64_t verify_every; /* seconds, for JOB_VERIFY_EVERY */
  /* restore-test: the same cadence, of the VM backups the run made,
   * with these checks (vmbackup restore-test --check) */
  enum job_verify restore_test;
  int64_t restore_test_every;
  job_string_vector restore_test_checks;
  /* copy-to: a second repository that every backup of the job's
   * targets is copied into after the backups (vmbackup copy), with its
   * own key (NULL: the job's) and retention (empty: the job's keep) */
  char *copy_to;
  char *copy_key_file, *copy_password_file; /* at most one */
  struct keep_policy copy_keep;
  int concurrency;       /* targets backed up at once */
  char *notify;          /* shell command run on failure, or NULL */
  char *prometheus_file; /* NULL: none */
};

/* Is name a job name: [A-Za-z0-9._-], 1 to 64, not starting with '.'
 * (it becomes a file name and a systemd instance name). */
bool job_name_is_valid (const char *name);
/* Read and parse dir/NAME.conf.  -1 with the error set: "FILE:LINE:
 * KEY: what is wrong", or "FILE: ..." for what concerns the whole file
 * (a missing key, no target). */
int job_load (const char *dir, const char *name, struct job *job);
/* Parse text (the file path, for messages, and the job's name). */
int job_parse (const char *path, const char *name, const char *text,
               struct job *job);
void job_free (struct job *job);
/* The names of the jobs in dir (NAME.conf files), sorted. */
int job_list (const char *dir, job_string_vector *names);
void job_string_vector_free (job_string_vector *v);
const char *job_target_kind_name (enum job_target_kind kind);

#endif
