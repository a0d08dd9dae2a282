/* Run directories of background processes: a keeper (a mount's, an
 * instant restore's) records its pid there and runs exports (export_run)
 * as its children, their sockets in the same directory.  Whatever a
 * killed keeper left is found from the directory: every process whose
 * command line names it, and the directory itself. */
#ifndef VMB_EXPORT_RUN_DIR_H
#define VMB_EXPORT_RUN_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "export_run.h"

/* How long an export has to start serving. */
#define EXPORT_START_S 120

/* Where run directories live: $VMBACKUP_RUN_DIR, else /run/vmbackup for
 * root, else $XDG_RUNTIME_DIR/vmbackup or /tmp/vmbackup-UID (in buf). */
const char *run_dir_base (char *buf, size_t len);

/* The keeper's pid, the first line of RUNDIR/keeper.pid; 0 if none. */
pid_t run_dir_keeper_pid (const char *rundir);

/* Whether pid is a live vmbackup (not a recycled pid of another
 * program, not a zombie). */
bool run_dir_pid_is_ours (pid_t pid);

/* SIGKILL every process (but us) whose command line names rundir:
 * nbdkit (its socket), qemu (its overlay and sockets); only those
 * called comm (as /proc/PID/comm says) unless comm is NULL.  How many. */
unsigned run_dir_kill_holders (const char *rundir, const char *comm);

/* Remove path and everything under it. */
void run_dir_remove (const char *path);

/* Whether something is connected to the unix socket that listens at
 * path. */
bool run_dir_socket_has_peer (const char *path);

void sleep_ms (long ms);

/* One line to the command that waits for a keeper: fmt's newlines made
 * blanks, one write (a short one is the command's loss: it died). */
void run_dir_say (int fd, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* Fork a child that runs the export ep (its output appended to
 * RUNDIR/export.log) and dies with us.  Its pid, or -1. */
pid_t export_child_start (const struct export_params *ep, const char *rundir);

/* Wait until the export's socket appears: 0, or -1 if the export died
 * or did not serve within EXPORT_START_S. */
int export_child_wait (pid_t pid, const char *sock);

/* SIGTERM the export and reap it. */
void export_child_stop (pid_t pid);

#endif
