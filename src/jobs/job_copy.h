/* The copy step of a job run: every backup of the job's targets that
 * the copy-to repository lacks is copied there ('vmbackup copy', in a
 * process of its own with the copy's key), then the copy's retention
 * (copy-keep-*, else the job's keep-*) is applied to each target's
 * backups in the copy ('vmbackup prune').  Backups of targets that
 * failed this time are copied too: a copy that failed on an earlier run
 * is caught up.  A failure is r->copy_error and event 4008. */
#ifndef VMB_JOBS_JOB_COPY_H
#define VMB_JOBS_JOB_COPY_H

#include "job_run.h"

void job_copy (const struct job *job, const struct job_run_opts *o,
               const struct job_target *t, size_t n, struct job_run_result *r);

#endif
