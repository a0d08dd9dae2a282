/* Restore tests (SureBackup-style): a VM backup restored beside
 * everything else as a throw-away VM on an isolated network of its own,
 * booted, its guest agent awaited, checks run in it, and everything it
 * made removed again.  The original VM is never touched.
 *
 * What a run makes is written to STATE-DIR/run-XXXXXX/state before it
 * is made, and the file is kept locked while the run lives: a run killed
 * with SIGKILL leaves a state file nobody holds, and the next run
 * removes what it names (restore_test_run starts with that sweep); a
 * janitor process (below) does so at once.
 * SIGINT, SIGTERM and SIGHUP are held while a run is under way and end
 * it, cleaned up, at the next step. */
#ifndef VMB_RESTORE_TEST_H
#define VMB_RESTORE_TEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/events.h"
#include "repo/manifest.h"
#include "repo/repo.h"

#define RESTORE_TEST_STATE_DIR "/var/lib/vmbackup/restore-test"
#define RESTORE_TEST_MAX_CHECKS 32

enum restore_check_kind { CHECK_AGENT, CHECK_EXEC, CHECK_TCP };

/* One --check: agent | exec:CMD[=STATUS] | tcp:PORT. */
struct restore_check {
  enum restore_check_kind kind;
  const char *spec; /* as given */
  char *cmd;        /* exec: the command; tcp: the probe */
  int expect;       /* exec: the exit status wanted (0) */
  int port;         /* tcp */
};

/* 0, or -1 with the error set ("bad check 'x': why"). */
int restore_check_parse (const char *spec, struct restore_check *c);
void restore_check_release (struct restore_check *c);

struct restore_check_result {
  const char *spec;
  bool ok;
  double seconds;   /* how long it took */
  double at;        /* seconds since the VM was started, when it ended */
  char detail[512]; /* what it saw */
};

struct restore_test_opts {
  const char *uri;
  const char *state_dir; /* NULL: RESTORE_TEST_STATE_DIR */
  int timeout_s;         /* for the agent, and for each check */
  const struct restore_check *checks;
  size_t nchecks;
  struct event_log *events;
};

struct restore_test_result {
  char backup[256];
  char original[256]; /* the backed-up VM's name */
  char vm[256];       /* the throw-away VM */
  char network[64];
  bool passed;
  char reason[1024];      /* why not */
  double restore_seconds; /* restore and define */
  double agent_seconds;   /* start to the agent's first answer; <0: never */
  double total_seconds;   /* everything, cleanup included */
  unsigned leftovers;     /* earlier dead runs cleaned up first */
  bool cleaned;           /* everything made was removed */
  bool interrupted;       /* a stop signal ended it */
  size_t nchecks;         /* results run (<= opts nchecks) */
  struct restore_check_result checks[RESTORE_TEST_MAX_CHECKS];
};

/* The janitor: a vmbackup process of its own ('restore-test --janitor',
 * started by restore_test_run) that waits on a pipe from the run.  When
 * the run ends it says so and the janitor exits; when the run dies
 * (SIGKILL, a crash) the pipe closes unsaid and the janitor removes
 * what the run made, at once, instead of leaving it to the next run.
 * It ignores SIGINT, SIGTERM and SIGHUP: those reach the run, which
 * cleans up itself.  This is the janitor's side: reads standard input
 * and cleans up; the exit status.  uri, state_dir as in the options. */
int restore_test_janitor (const char *uri, const char *state_dir,
                          struct event_log *events);

/* Run one restore test of backup m.  Fills res in every case; returns 0
 * when it passed, else -1 with the error set to res->reason. */
int restore_test_run (struct repo *repo, const struct manifest *m,
                      const struct restore_test_opts *o,
                      struct restore_test_result *res);

#endif
