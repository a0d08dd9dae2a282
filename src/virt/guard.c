/* The guardian process (see guard.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "backup_job.h"
#include "conn.h"
#include "guard.h"

int
guard_start (struct guard *g, const char *uri, const char *vm)
{
  int p[2];

  g->pid = -1;
  g->fd = -1;
  if (pipe2 (p, O_CLOEXEC) == -1) {
    set_error (errno, "pipe");
    return -1;
  }
  g->pid = fork ();
  if (g->pid == -1) {
    set_error (errno, "fork");
    close (p[0]);
    close (p[1]);
    return -1;
  }
  if (g->pid == 0) {
    dup2 (p[0], 0);
    /* Its own session: a ^C or SIGTERM to our process group must not
     * take the guardian down with us. */
    setsid ();
    execl ("/proc/self/exe", "vmbackup", "__guard", uri ? uri : DEFAULT_URI,
           vm, (char *) NULL);
    _exit (127);
  }
  close (p[0]);
  g->fd = p[1];
  return 0;
}

int
guard_stage (struct guard *g, enum guard_stage stage)
{
  char c = stage;

  if (g->fd < 0)
    return 0;
  while (write (g->fd, &c, 1) == -1) {
    if (errno != EINTR) {
      set_error (errno, "tell the guardian");
      return -1;
    }
  }
  return 0;
}

int
guard_job_dir (struct guard *g, const char *dir)
{
  char msg[PATH_MAX + 2];
  int n = snprintf (msg, sizeof msg, "%c%s", GUARD_JOB_DIR, dir);

  if (g->fd < 0)
    return 0;
  if (n < 0 || (size_t) n >= sizeof msg - 1) {
    set_error (0, "job directory %s: name too long", dir);
    return -1;
  }
  /* One write of under PIPE_BUF bytes: never interleaved, never split. */
  if (write (g->fd, msg, n + 1) != n + 1) {
    set_error (errno, "tell the guardian");
    return -1;
  }
  return 0;
}

void
guard_stop (struct guard *g)
{
  if (g->fd >= 0) {
    guard_stage (g, GUARD_DONE);
    close (g->fd);
  }
  if (g->pid > 0)
    waitpid (g->pid, NULL, 0);
  g->fd = g->pid = -1;
}

int
guard_main (const char *uri, const char *vm)
{
  bool frozen = false, paused = false, job = false;
  char dir[PATH_MAX] = "";
  virConnectPtr conn;
  virDomainPtr dom;
  char c;
  ssize_t n;

  signal (SIGINT, SIG_IGN);
  signal (SIGTERM, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);
  while ((n = read (0, &c, 1)) == 1 || (n == -1 && errno == EINTR)) {
    if (n != 1)
      continue;
    switch (c) {
      case GUARD_FROZEN: frozen = true; break;
      case GUARD_THAWED: frozen = false; break;
      case GUARD_PAUSED: paused = true; break;
      case GUARD_RESUMED: paused = false; break;
      case GUARD_JOB: job = true; break;
      case GUARD_JOB_DONE: job = false; break;
      case GUARD_JOB_DIR:
        {
          size_t len = 0;
          while (read (0, &c, 1) == 1 && c != '\0')
            if (len < sizeof dir - 1)
              dir[len++] = c;
          dir[len] = '\0';
          break;
        }
      case GUARD_DONE: return 0;
    }
  }
  if (!frozen && !paused && !job)
    return 0;
  /* vmbackup died mid-way: put the VM back.  The guardian is a forked
   * child whose parent is gone: stderr (inherited, so the user's
   * terminal or the job's log) is the only one left to tell that the VM
   * could not be put back, hence it prints where library code would
   * return an error. */
  conn = virt_connect (uri);
  dom = conn ? virt_lookup (conn, vm) : NULL;
  if (dom) {
    if (frozen && virDomainFSThaw (dom, NULL, 0, 0) < 0)
      /* may print: see above */
      fprintf (stderr, "vmbackup guardian: VM %s: thaw failed: %s\n", vm,
               virt_error ());
    if (paused && virDomainResume (dom) == -1)
      /* may print: see above */
      fprintf (stderr, "vmbackup guardian: VM %s: resume failed: %s\n", vm,
               virt_error ());
    if (job)
      virDomainAbortJob (dom);
    virDomainFree (dom);
  }
  if (conn)
    virConnectClose (conn);
  /* Even when libvirt is out of reach: the directory is ours. */
  if (job && dir[0])
    backup_job_dir_remove (dir);
  return conn ? 0 : 1;
}
