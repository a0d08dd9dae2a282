/* The keeper of a mount and what cleans up after it (see mount_run.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "guest_fs.h"
#include "mount_run.h"

/* How long the export has to start serving, and a keeper to stop
 * after its FUSE mount went away (the appliance shuts down). */
#define EXPORT_START_S 120
#define KEEPER_STOP_S 60

int
mount_canonical (const char *dir, char *out, size_t len)
{
  char copy1[PATH_MAX], copy2[PATH_MAX], parent[PATH_MAX];
  size_t n = strlen (dir);

  if (n == 0 || n >= PATH_MAX) {
    set_error (EINVAL, "bad mount point '%s'", dir);
    return -1;
  }
  strcpy (copy1, dir);
  while (n > 1 && copy1[n - 1] == '/')
    copy1[--n] = '\0';
  strcpy (copy2, copy1);
  const char *base = basename (copy2);
  if (strcmp (base, ".") == 0 || strcmp (base, "..") == 0
      || strcmp (base, "/") == 0) {
    if (realpath (copy1, parent) == NULL) {
      set_error (errno, "%s", dir);
      return -1;
    }
    snprintf (out, len, "%s", parent);
    return 0;
  }
  if (realpath (dirname (copy1), parent) == NULL) {
    set_error (errno, "%s", dir);
    return -1;
  }
  if ((size_t) snprintf (out, len, "%s/%s",
                         strcmp (parent, "/") == 0 ? "" : parent, base)
      >= len) {
    set_error (ENAMETOOLONG, "%s", dir);
    return -1;
  }
  return 0;
}

static const char *
run_base (char *buf, size_t len)
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

int
mount_run_dir (const char *dir, char *out, size_t len)
{
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a: a name, not a secret */
  char buf[PATH_MAX];

  for (const char *c = dir; *c; c++)
    h = (h ^ (unsigned char) *c) * 0x100000001b3ULL;
  if ((size_t) snprintf (out, len, "%s/mount-%016" PRIx64,
                         run_base (buf, sizeof buf), h)
      >= len) {
    set_error (ENAMETOOLONG, "run directory");
    return -1;
  }
  return 0;
}

/* The keeper's pid from the run directory, 0 if none is recorded. */
static pid_t
keeper_pid (const char *rundir)
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

/* Whether pid is a live vmbackup (not a recycled pid of another
 * program). */
static bool
is_ours (pid_t pid)
{
  char path[64], comm[64] = "";
  FILE *f;

  if (pid <= 0)
    return false;
  snprintf (path, sizeof path, "/proc/%d/comm", (int) pid);
  f = fopen (path, "r");
  if (f == NULL)
    return false;
  if (fgets (comm, sizeof comm, f) == NULL)
    comm[0] = '\0';
  fclose (f);
  if (strncmp (comm, "vmbackup", 8) != 0)
    return false;
  /* A zombie has done its work. */
  char stat[256] = "", *rp;
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  f = fopen (path, "r");
  if (f == NULL)
    return false;
  if (fgets (stat, sizeof stat, f) == NULL)
    stat[0] = '\0';
  fclose (f);
  rp = strrchr (stat, ')');
  return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

int
mount_state (const char *dir, bool *stale)
{
  char rundir[PATH_MAX];
  struct stat st;

  *stale = false;
  if (mount_run_dir (dir, rundir, sizeof rundir) == -1)
    return -1;
  if (stat (rundir, &st) == -1)
    return 0;
  if (is_ours (keeper_pid (rundir)))
    return 1;
  *stale = true;
  return 0;
}

/* Run argv, quietly; its exit status, -1 if it could not run. */
static int
run_quiet (char *const argv[])
{
  pid_t pid = fork ();
  int status;

  if (pid == -1)
    return -1;
  if (pid == 0) {
    int null = open ("/dev/null", O_RDWR);
    dup2 (null, 0);
    dup2 (null, 1);
    dup2 (null, 2);
    execvp (argv[0], argv);
    _exit (127);
  }
  if (waitpid (pid, &status, 0) != pid)
    return -1;
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Whether dir is a mount point now (/proc/self/mounts; octal escapes
 * for spaces and the like). */
static bool
is_mounted (const char *dir)
{
  char line[PATH_MAX * 2], esc[PATH_MAX * 4], *p = esc;
  bool found = false;
  FILE *f;

  for (const char *c = dir; *c && p < esc + sizeof esc - 5; c++) {
    if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\\')
      p += sprintf (p, "\\%03o", (unsigned char) *c);
    else
      *p++ = *c;
  }
  *p = '\0';
  f = fopen ("/proc/self/mounts", "r");
  if (f == NULL)
    return false;
  while (!found && fgets (line, sizeof line, f)) {
    char *sp = strchr (line, ' ');
    if (sp == NULL)
      continue;
    char *mp = sp + 1, *end = strchr (mp, ' ');
    if (end && (size_t) (end - mp) == strlen (esc)
        && strncmp (mp, esc, end - mp) == 0)
      found = true;
  }
  fclose (f);
  return found;
}

static int
unmount (const char *dir, bool lazy)
{
  char *fu[] = { (char *) "fusermount", (char *) "-u", (char *) dir, NULL };
  char *fz[] = { (char *) "fusermount", (char *) "-u", (char *) "-z",
                 (char *) dir, NULL };
  char *um[] = { (char *) "umount", (char *) "-l", (char *) dir, NULL };

  if (!lazy)
    return run_quiet (fu) == 0 ? 0 : -1;
  if (run_quiet (fz) == 0 || run_quiet (um) == 0)
    return 0;
  return -1;
}

/* SIGKILL every process (but us) whose command line names rundir:
 * nbdkit (its socket), qemu (its overlay and sockets). */
static void
kill_holders (const char *rundir)
{
  DIR *d = opendir ("/proc");
  struct dirent *de;

  if (d == NULL)
    return;
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
    if (strstr (buf, rundir))
      kill (pid, SIGKILL);
  }
  closedir (d);
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

static void
remove_tree (const char *path)
{
  nftw (path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

  nanosleep (&ts, NULL);
}

int
mount_cleanup (const char *dir)
{
  char rundir[PATH_MAX];
  pid_t keeper;

  if (mount_run_dir (dir, rundir, sizeof rundir) == -1)
    return -1;
  keeper = keeper_pid (rundir);
  if (is_ours (keeper)) {
    /* The keeper stops by itself once its FUSE mount is gone. */
    if (is_mounted (dir) && unmount (dir, false) == -1 && is_mounted (dir)) {
      set_error (EBUSY, "%s is busy (a process uses files under it)", dir);
      return -1;
    }
    /* restore --path started it: then it is our child to reap. */
    for (int i = 0; i < KEEPER_STOP_S * 10 && is_ours (keeper); i++) {
      if (waitpid (keeper, NULL, WNOHANG) == keeper)
        break;
      sleep_ms (100);
    }
    if (is_ours (keeper))
      kill (keeper, SIGKILL);
  }
  if (is_mounted (dir))
    unmount (dir, true);
  kill_holders (rundir);
  remove_tree (rundir);
  return 0;
}

/* ---- the keeper ---- */

static void say (int fd, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

static void
say (int fd, const char *fmt, ...)
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

static pid_t
start_export (const struct export_params *ep, const char *rundir)
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

static void
stop_export (pid_t pid)
{
  int status;

  if (pid <= 0)
    return;
  kill (pid, SIGTERM);
  waitpid (pid, &status, 0);
}

/* Wait until the export's socket appears; -1 if the export died. */
static int
wait_socket (pid_t pid, const char *sock)
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

static void __attribute__ ((noreturn))
keeper (const struct mount_params *p, const char *rundir, int fd, pid_t parent)
{
  char sock[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX];
  struct export_params ep = p->export;
  struct guest_fs *g = NULL;
  pid_t exp = -1;
  bool mounted = false;
  int null, rc = 1;
  FILE *f;

  /* Until the mount is up, the command waits for us: if it is killed,
   * so are we (the export and the appliance die with us). */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (1);
  setsid ();
  null = open ("/dev/null", O_RDWR);
  dup2 (null, 0);
  dup2 (null, 1);
  dup2 (null, 2);
  snprintf (path, sizeof path, "%s/keeper.pid", rundir);
  f = fopen (path, "w");
  if (f) {
    fprintf (f, "%d\n%s\n", (int) getpid (), p->dir);
    fclose (f);
  }
  /* Named for this keeper: the export of a killed one, still stopping
   * in the same run directory, removes its socket, never ours. */
  snprintf (sock, sizeof sock, "%s/nbd-%d.sock", rundir, (int) getpid ());
  snprintf (tmp, sizeof tmp, "%s/tmp", rundir);
  ep.socket = sock;
  ep.ready = NULL;
  exp = start_export (&ep, rundir);
  if (exp == -1 || wait_socket (exp, sock) == -1) {
    say (fd, "error the export of the disk did not start (see %s/export.log)",
         rundir);
    goto out;
  }
  /* libguestfs's sockets go here too: the run directory holds all. */
  setenv ("XDG_RUNTIME_DIR", rundir, 1);
  g = guest_fs_open (sock, p->disk_name, tmp);
  if (g == NULL) {
    say (fd, "error %s", get_error ());
    goto out;
  }
  for (size_t i = 0; i < guest_fs_count (g); i++) {
    const struct guest_fs_entry *e = guest_fs_entry (g, i);
    if (e->mounted)
      say (fd, "%s %s mounted", e->name, e->fstype);
    else
      say (fd, "%s %s not readable: %s", e->name, e->fstype,
           e->why ? e->why : "unknown reason");
  }
  if (guest_fs_mount_local (g, p->dir) == -1) {
    say (fd, "error %s", get_error ());
    goto out;
  }
  mounted = true;
  /* A mount that outlives the command stops dying with it before it
   * says "ready": after, the command may exit at once, and a keeper
   * not yet past the prctl would be killed with it, leaving a dead
   * FUSE mount behind a successful 'vmbackup mount'.  A command
   * killed before the prctl is seen here. */
  if (!p->die_with_caller) {
    prctl (PR_SET_PDEATHSIG, 0);
    if (getppid () != parent)
      goto out;
  }
  say (fd, "ready");
  close (fd);
  fd = -1;
  rc = guest_fs_serve (g) == 0 ? 0 : 1;
  /* Served until it was unmounted, unless serving failed. */
  mounted = rc != 0;

out:
  if (fd >= 0)
    close (fd);
  guest_fs_close (g);
  /* A FUSE mount not served any more is dead: not left behind. */
  if (mounted && is_mounted (p->dir))
    unmount (p->dir, true);
  stop_export (exp);
  remove_tree (rundir);
  _exit (rc);
}

int
mount_start (const struct mount_params *p)
{
  char rundir[PATH_MAX], tmp[PATH_MAX], line[4096];
  pid_t parent = getpid (), pid;
  bool ready = false;
  int fds[2], status;
  FILE *in;

  if (mount_run_dir (p->dir, rundir, sizeof rundir) == -1)
    return -1;
  strcpy (tmp, rundir);
  mkdir (dirname (tmp), 0700);
  if (mkdir (rundir, 0700) == -1) {
    set_error (errno, "run directory %s", rundir);
    return -1;
  }
  snprintf (tmp, sizeof tmp, "%s/tmp", rundir);
  if (mkdir (tmp, 0700) == -1 || pipe2 (fds, O_CLOEXEC) == -1) {
    set_error (errno, "run directory %s", rundir);
    remove_tree (rundir);
    return -1;
  }
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid == -1) {
    set_error (errno, "fork");
    remove_tree (rundir);
    return -1;
  }
  if (pid == 0) {
    close (fds[0]);
    keeper (p, rundir, fds[1], parent);
  }
  close (fds[1]);
  in = fdopen (fds[0], "r");
  set_error (EIO, "the mount's background process died");
  while (in && !ready && fgets (line, sizeof line, in)) {
    line[strcspn (line, "\n")] = '\0';
    if (strcmp (line, "ready") == 0)
      ready = true;
    else if (strncmp (line, "error ", 6) == 0)
      set_error (EIO, "%s", line + 6);
    else if (p->line)
      p->line (p->opaque, line);
  }
  if (in)
    fclose (in);
  else
    close (fds[0]);
  if (ready)
    return 0;
  waitpid (pid, &status, 0);
  /* Whatever it left: nothing half-made stays. */
  char err[1024];
  snprintf (err, sizeof err, "%s", get_error ());
  mount_cleanup (p->dir);
  set_error (EIO, "%s", err);
  return -1;
}
