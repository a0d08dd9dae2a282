/* What a job run leaves for the admin and their monitoring: a one-line
 * summary, a JSON summary (STATE_DIR/NAME.json, which also carries the
 * last success and last verify times from run to run), a Prometheus
 * textfile-collector file, and the notify command on failure.  The
 * formats are in docs/vmbackup-jobs.pod. */
#ifndef VMB_JOBS_JOB_REPORT_H
#define VMB_JOBS_JOB_REPORT_H

#include <stdint.h>

#include "job.h"
#include "job_run.h"

/* The last success and last verify times a previous run recorded in
 * path (0 when there is none, or it cannot be read: the first run). */
void job_state_read (const char *path, int64_t *last_success,
                     int64_t *last_verify, int64_t *last_restore_test);
/* "job NAME: ok, 3 of 3 targets backed up, ..." (malloc'd). */
char *job_summary_line (const struct job *job, const struct job_run_result *r);
/* Each replaces path atomically; -1 with the error set. */
int job_write_json (const char *path, const struct job *job,
                    const struct job_run_result *r, const char *summary);
int job_write_prometheus (const char *path, const struct job *job,
                          const struct job_run_result *r);
/* Run job->notify with the summary line on its standard input and
 * $VMBACKUP_JOB, $VMBACKUP_JOB_STATUS, $VMBACKUP_JOB_SUMMARY and
 * $VMBACKUP_JOB_JSON set: its exit status, or -1 with the error set. */
int job_notify (const struct job *job, const char *summary,
                const char *json_path);

#endif
