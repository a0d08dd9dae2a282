/* The run's side of the restore-test janitor (restore_test.h): start
 * it, tell it what the run is, and dismiss it once the run has cleaned
 * up after itself. */
#ifndef VMB_RESTORE_TEST_JANITOR_H
#define VMB_RESTORE_TEST_JANITOR_H

#include <sys/types.h>

#include "restore_test.h"

struct rt_janitor {
  pid_t pid; /* -1: none */
  int fd;    /* the pipe it reads, -1: none */
};

/* Start the janitor of one run; when it cannot be started the run goes
 * on without (the next run's sweep is still there): j->pid is -1 and
 * the error set. */
int rt_janitor_start (const struct restore_test_opts *o, struct rt_janitor *j);
/* One "KEY VALUE" line for it: vm, backup (for its events), run (the
 * run's directory). */
void rt_janitor_tell (struct rt_janitor *j, const char *key,
                      const char *value);
/* The run cleaned up: the janitor exits without doing anything. */
void rt_janitor_dismiss (struct rt_janitor *j);

#endif
