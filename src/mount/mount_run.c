/* The keeper of a mount and what cleans up after it (see mount_run.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "export/run_dir.h"
#include "guest_fs.h"
#include "mount_run.h"

/* How long a keeper has to stop after its FUSE mount went away (the
 * appliance shuts down). */
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

int
mount_run_dir (const char *dir, char *out, size_t len)
{
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a: a name, not a secret */
  char buf[PATH_MAX];

  for (const char *c = dir; *c; c++)
    h = (h ^ (unsigned char) *c) * 0x100000001b3ULL;
  if ((size_t) snprintf (out, len, "%s/mount-%016" PRIx64,
                         run_dir_base (buf, sizeof buf), h)
      >= len) {
    set_error (ENAMETOOLONG, "run directory");
    return -1;
  }
  return 0;
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
  if (run_dir_pid_is_ours (run_dir_keeper_pid (rundir)))
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

int
mount_cleanup (const char *dir)
{
  char rundir[PATH_MAX];
  pid_t keeper;

  if (mount_run_dir (dir, rundir, sizeof rundir) == -1)
    return -1;
  keeper = run_dir_keeper_pid (rundir);
  if (run_dir_pid_is_ours (keeper)) {
    /* The keeper stops by itself once its FUSE mount is gone. */
    if (is_mounted (dir) && unmount (dir, false) == -1 && is_mounted (dir)) {
      set_error (EBUSY, "%s is busy (a process uses files under it)", dir);
      return -1;
    }
    /* restore --path started it: then it is our child to reap. */
    for (int i = 0; i < KEEPER_STOP_S * 10 && run_dir_pid_is_ours (keeper);
         i++) {
      if (waitpid (keeper, NULL, WNOHANG) == keeper)
        break;
      sleep_ms (100);
    }
    if (run_dir_pid_is_ours (keeper))
      kill (keeper, SIGKILL);
  }
  if (is_mounted (dir))
    unmount (dir, true);
  run_dir_kill_holders (rundir, NULL);
  run_dir_remove (rundir);
  return 0;
}

/* ---- the keeper ---- */

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
  exp = export_child_start (&ep, rundir);
  if (exp == -1 || export_child_wait (exp, sock) == -1) {
    run_dir_say (fd,
                 "error the export of the disk did not start (see "
                 "%s/export.log)",
                 rundir);
    goto out;
  }
  /* libguestfs's sockets go here too: the run directory holds all. */
  setenv ("XDG_RUNTIME_DIR", rundir, 1);
  g = guest_fs_open (sock, p->disk_name, tmp);
  if (g == NULL) {
    run_dir_say (fd, "error %s", get_error ());
    goto out;
  }
  for (size_t i = 0; i < guest_fs_count (g); i++) {
    const struct guest_fs_entry *e = guest_fs_entry (g, i);
    if (e->mounted)
      run_dir_say (fd, "%s %s mounted", e->name, e->fstype);
    else
      run_dir_say (fd, "%s %s not readable: %s", e->name, e->fstype,
                   e->why ? e->why : "unknown reason");
  }
  if (guest_fs_mount_local (g, p->dir) == -1) {
    run_dir_say (fd, "error %s", get_error ());
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
  run_dir_say (fd, "ready");
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
  export_child_stop (exp);
  run_dir_remove (rundir);
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
    run_dir_remove (rundir);
    return -1;
  }
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid == -1) {
    set_error (errno, "fork");
    run_dir_remove (rundir);
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
