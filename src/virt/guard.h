/* A guardian process that puts a VM back if vmbackup dies while the VM
 * is frozen, paused by us, or has our backup job running.
 *
 * It is a separate process (vmbackup __guard, started from
 * /proc/self/exe) holding the read end of a pipe: we tell it each stage
 * as we enter it; if the pipe reaches EOF before we said "done" -- we
 * crashed, were SIGKILLed, or the machine's OOM killer chose us -- it
 * thaws the guest, resumes it, or aborts the job and removes its
 * directory, whichever is needed.
 * No signal handler can do that for SIGKILL. */
#ifndef VMB_GUARD_H
#define VMB_GUARD_H

#include <sys/types.h>

enum guard_stage {
  GUARD_FROZEN = 'F', /* filesystems frozen: thaw on death */
  GUARD_THAWED = 'T',
  GUARD_PAUSED = 'P', /* we paused a running VM: resume */
  GUARD_RESUMED = 'R',
  GUARD_JOB = 'J', /* our backup job runs: abort it */
  GUARD_JOB_DONE = 'E',
  GUARD_JOB_DIR = 'D', /* followed by the job's directory and a
                                 * NUL: remove it after the abort */
  GUARD_DONE = 'd',
};

struct guard {
  pid_t pid;
  int fd; /* write end */
};

int guard_start (struct guard *g, const char *uri, const char *vm);
int guard_stage (struct guard *g, enum guard_stage stage);
/* The backup job's directory, removed after the job is aborted. */
int guard_job_dir (struct guard *g, const char *dir);
/* Say done and reap it. */
void guard_stop (struct guard *g);

/* The guardian itself: argv is URI VM.  Returns an exit status. */
int guard_main (const char *uri, const char *vm);

#endif
