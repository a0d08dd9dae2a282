/* Run directories of background processes (a mount's or an instant
 * restore's keeper) and the exports they run as children (see
 * run_dir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run_dir.h"

const char *
run_dir_base (char *buf, size_t len)
{
  const char *e = getenv ("VMBACKUP_RUN_DIR");

  if (e && *e)
    return e;
  if (geteuid () == 0)
    return "/run/vmbackup";
  e = getenv ("XDG_RUNTIME_DIR");
  if (e && *e)
    snprintf (buf, len, "%s/vmbackup", e);
  else
    snprintf (buf, len, "/tmp/vmbackup-%u", (unsigned) geteuid ());
  return buf;
}

pid_t
run_dir_keeper_pid (const char *rundir)
{
  char path[PATH_MAX];
  long pid = 0;
  FILE *f;

  snprintf (path, sizeof path, "%s/keeper.pid", rundir);
  f = fopen (path, "r");
  if (f == NULL)
    return 0;
  if (fscanf (f, "%ld", &pid) != 1)
    pid = 0;
  fclose (f);
  return (pid_t) pid;
}

/* The first line of /proc/PID/WHAT (its newline dropped) into buf;
 * false when the process is gone. */
static bool
read_proc_line (pid_t pid, const char *what, char *buf, size_t len)
{
  char path[64];
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, what);
  f = fopen (path, "r");
  if (f == NULL)
    return false;
  if (fgets (buf, (int) len, f) == NULL)
    buf[0] = '\0';
  fclose (f);
  buf[strcspn (buf, "\n")] = '\0';
  return true;
}

bool
run_dir_pid_is_ours (pid_t pid)
{
  char comm[64], stat[256], *rp;

  if (pid <= 0 || !read_proc_line (pid, "comm", comm, sizeof comm)
      || strncmp (comm, "vmbackup", 8) != 0)
    return false;
  /* A zombie has done its work. */
  if (!read_proc_line (pid, "stat", stat, sizeof stat))
    return false;
  rp = strrchr (stat, ')');
  return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* Whether /proc/PID/comm is comm. */
static bool
comm_is (pid_t pid, const char *comm)
{
  char buf[64];

  return read_proc_line (pid, "comm", buf, sizeof buf)
    && strcmp (buf, comm) == 0;
}

unsigned
run_dir_kill_holders (const char *rundir, const char *comm)
{
  DIR *d = opendir ("/proc");
  struct dirent *de;
  unsigned killed = 0;

  if (d == NULL)
    return 0;
  while ((de = readdir (d))) {
    char path[64], buf[8192];
    pid_t pid = (pid_t) atoi (de->d_name);
    ssize_t n;
    int fd;

    if (pid <= 0 || pid == getpid ())
      continue;
    snprintf (path, sizeof path, "/proc/%d/cmdline", (int) pid);
    fd = open (path, O_RDONLY);
    if (fd == -1)
      continue;
    n = read (fd, buf, sizeof buf - 1);
    close (fd);
    if (n <= 0)
      continue;
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] == '\0')
        buf[i] = ' ';
    buf[n] = '\0';
    if (strstr (buf, rundir) && (comm == NULL || comm_is (pid, comm))
        && kill (pid, SIGKILL) == 0)
      killed++;
  }
  closedir (d);
  return killed;
}

static int
remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (flag == FTW_DP)
    rmdir (path);
  else
    unlink (path);
  return 0;
}

void
run_dir_remove (const char *path)
{
  nftw (path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
run_dir_say (int fd, const char *fmt, ...)
{
  char buf[4096];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (buf, sizeof buf - 1, fmt, ap);
  va_end (ap);
  if (n < 0)
    return;
  if (n > (int) sizeof buf - 2)
    n = sizeof buf - 2;
  for (int i = 0; i < n; i++)
    if (buf[i] == '\n')
      buf[i] = ' ';
  buf[n++] = '\n';
  if (write (fd, buf, n) != n)
    return;
}

void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

  nanosleep (&ts, NULL);
}

pid_t
export_child_start (const struct export_params *ep, const char *rundir)
{
  pid_t parent = getpid (), pid = fork ();
  char log[PATH_MAX];

  if (pid != 0)
    return pid;
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () != parent)
    _exit (1);
  snprintf (log, sizeof log, "%s/export.log", rundir);
  int fd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) {
    dup2 (fd, 1);
    dup2 (fd, 2);
  }
  _exit (export_run (ep) == 0 ? 0 : 1);
}

void
export_child_stop (pid_t pid)
{
  int status;

  if (pid <= 0)
    return;
  kill (pid, SIGTERM);
  waitpid (pid, &status, 0);
}

int
export_child_wait (pid_t pid, const char *sock)
{
  int status;

  for (int i = 0; i < EXPORT_START_S * 20; i++) {
    if (access (sock, F_OK) == 0)
      return 0;
    if (waitpid (pid, &status, WNOHANG) == pid)
      return -1;
    sleep_ms (50);
  }
  return -1;
}

/* Whether something is connected to the unix socket at path: an
 * accepted connection shows in /proc/net/unix with the listener's path
 * and state 03 (connected). */
bool
run_dir_socket_has_peer (const char *path)
{
  FILE *f = fopen ("/proc/net/unix", "r");
  char line[4608];
  bool found = false;

  while (f && !found && fgets (line, sizeof line, f)) {
    char *p = strrchr (line, ' ');
    unsigned st;

    line[strcspn (line, "\n")] = '\0';
    if (p && strcmp (p + 1, path) == 0
        && sscanf (line, "%*s %*s %*s %*s %*s %x", &st) == 1 && st == 3)
      found = true;
  }
  if (f)
    fclose (f);
  return found;
}
