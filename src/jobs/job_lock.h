/* One run of a job at a time: an flock on STATE_DIR/NAME.lock, held for
 * the whole run, holding the runner's PID so that a second run can say
 * whose it is.  The kernel drops the lock when the runner dies, so a
 * killed run never blocks the next. */
#ifndef VMB_JOBS_JOB_LOCK_H
#define VMB_JOBS_JOB_LOCK_H

/* The lock's fd (close-on-exec: the targets' processes do not hold it),
 * or -1 with the error set; errno EWOULDBLOCK when another run holds
 * it ("job NAME is already running (pid N)"). */
int job_lock_take (const char *state_dir, const char *name);
void job_lock_release (int fd);

#endif
