/* The processes a job runs: one vmbackup per target, and the notify
 * command.  Targets run in their own processes so that one crashing or
 * hanging on a VM does not take the job, or the other targets, with it. */
#ifndef VMB_JOBS_JOB_SPAWN_H
#define VMB_JOBS_JOB_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "job.h"

/* Start argv[0] with argv (environment inherited).  The pid, or -1
 * with the error set. */
pid_t job_spawn (char *const argv[]);
/* The same, with env (NULL-terminated "NAME=VALUE" strings) before the
 * environment, so that they win; "NAME=" hides a variable from our
 * commands, which take an empty value as unset. */
pid_t job_spawn_env (char *const argv[], char *const env[]);
/* Wait until one of pids[0..n) (-1 entries skipped) ends: its index,
 * with its exit status (128+N when killed by signal N), or -1 with the
 * error set. */
ssize_t job_wait_any (const pid_t *pids, size_t n, int *status);
/* Run "/bin/sh -c command" with text on its standard input and the
 * extra environment env (NULL-terminated "NAME=VALUE" strings) and
 * wait for it: its exit status, or -1 with the error set. */
int job_run_shell (const char *command, const char *text, char *const env[]);

/* The argv that backs up target t of job in a vmbackup process:
 * 'vmbackup --repo R [-c URI] backup VM --consistency C', 'backup
 * --image NAME=PATH', or 'files backup --name NAME [--exclude P]...
 * PATH...'.  Freed with job_argv_free. */
char **job_target_argv (const char *self, const struct job *job,
                        const struct job_target *t);
/* 'vmbackup --repo R [-c URI] restore-test ID... [--check C]...': the
 * restore test of the backups ids[0..n).  Freed with job_argv_free. */
char **job_restore_test_argv (const char *self, const struct job *job,
                              char *const *ids, size_t n);
/* 'vmbackup --repo R copy --to C -- ID...': copy backups ids[0..n) to
 * the job's copy-to repository. */
char **job_copy_argv (const char *self, const struct job *job,
                      char *const *ids, size_t n);
/* 'vmbackup --repo C prune --keep-... -- NAME': the job's copy-keep
 * rules on one backup name of the copy-to repository. */
char **job_copy_prune_argv (const char *self, const struct job *job,
                            const char *name);
void job_argv_free (char **argv);

#endif
