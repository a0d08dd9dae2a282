/* One run of a job: back up every target (each in its own vmbackup
 * process, as 'vmbackup backup' or 'vmbackup files backup' would, at
 * most job->concurrency at once), copy them to the copy-to repository,
 * prune what the job's retention lets go, and verify and restore-test
 * when the job's cadence says it is time.  Events 4000 to 4008 say what
 * happened; the caller writes the summaries
 * (job_report.h).  Nothing here prints: the targets' processes write
 * their own result lines and errors. */
#ifndef VMB_JOBS_JOB_RUN_H
#define VMB_JOBS_JOB_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/events.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "repo/verify.h"
#include "job.h"

struct job_target_result {
  char *name; /* the VM's name, or the image's or files' backup name */
  enum job_target_kind kind;
  bool ok;
  int exit_status;                /* the process's; 128+N if killed by N */
  char error[256];                /* when no process ran ("" otherwise) */
  char backup[NAME_MAX_LEN + 64]; /* the backup it made, or "" */
  uint64_t size, stored_new;
  double seconds;
};
DEFINE_VECTOR_TYPE (job_result_vector, struct job_target_result);

struct job_run_opts {
  const char *self;   /* the vmbackup executable the targets run */
  struct repo **repo; /* open, and unlocked if encrypted; may be
                       * replaced by reopen (the caller closes *repo at
                       * the end, which may be NULL) */
  /* Close old and open the repository again, or NULL (having said why):
   * an ssh server ends a session idle for an hour, which the run's own
   * connection is while a big VM is backed up.  May be NULL. */
  struct repo *(*reopen) (void *reopen_opaque, struct repo *old);
  void *reopen_opaque;
  struct event_log *events;
  int64_t last_verify;            /* of the previous runs, 0: never */
  int64_t last_restore_test;      /* idem */
  int64_t last_success;           /* idem */
  verify_report_fn verify_report; /* each problem verify finds */
  void *opaque;
};

struct job_run_result {
  int64_t started, finished; /* seconds since the epoch */
  double seconds;
  job_result_vector targets;
  size_t failed; /* targets */
  size_t pruned;
  char prune_error[512]; /* "" when retention was applied */
  bool verified;         /* verify ran this time */
  uint64_t verify_backups, verify_problems, chunks_read;
  char verify_error[512];            /* "" unless verify could not run */
  int64_t last_verify, last_success; /* including this run */
  /* restore-test: whether it ran, on how many of this run's VM
   * backups, and why it failed ("" when it passed or did not run) */
  bool restore_tested;
  size_t restore_tested_backups;
  char restore_test_error[512];
  int64_t last_restore_test;
  /* copy-to: whether it ran, how many backups of the job's targets it
   * found in the copy or copied there, why it failed ("" when it passed
   * or did not run) */
  bool copy_ran;
  size_t copy_backups;
  char copy_error[512];
  uint64_t stored_new, size; /* of the backups made */
  char error[512];           /* the run could not start ("" if it ran) */
  bool ok;                   /* everything succeeded */
};

int job_run (const struct job *job, const struct job_run_opts *o,
             struct job_run_result *r);
/* A run that could not start (the repository cannot be opened): r
 * says so, with event 4002. */
void job_run_failed (const struct job *job, const struct job_run_opts *o,
                     const char *error, struct job_run_result *r);
void job_run_result_free (struct job_run_result *r);

/* For the steps after the backups (job_copy.c): the backup name target
 * t's backups have (buf holds it), and the backups of name, oldest
 * first, appended to *v (a listing that fails is tried once more on a
 * new connection: reopen). */
const char *job_backup_name (const struct job_target *t,
                             char buf[NAME_MAX_LEN + 1]);
int job_list_backups (const struct job_run_opts *o, const char *name,
                      manifest_vector *v);

#endif
