/* nbdkit as a child process (see export_run.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/vector.h"
#include "asan_preload.h"
#include "export_run.h"

#define PLUGIN_NAME "nbdkit-vmbackup-plugin.so"
/* How long nbdkit has to stop after SIGTERM before it is killed.  It
 * serves read-only, so a kill loses nothing; and it can hang in its
 * own exit (a lock in a library's destructor, p11-kit's, seen here),
 * which this bounds.  It was 10 s: every instant restore and mount
 * whose export hung waited that long at its end. */
#define STOP_TIMEOUT_S 2

const char *
export_plugin_path (void)
{
  static char path[PATH_MAX];
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);

  if (n > 0) {
    exe[n] = '\0';
    snprintf (path, sizeof path, "%s/src/" PLUGIN_NAME, dirname (exe));
    if (access (path, R_OK) == 0)
      return path;
  }
  snprintf (path, sizeof path, "%s/" PLUGIN_NAME, VMBACKUP_PLUGIN_DIR);
  if (access (path, R_OK) == 0)
    return path;
  set_error (ENOENT, "the nbdkit plugin %s is not installed", path);
  return NULL;
}

DEFINE_VECTOR_TYPE (arg_vector, char *);

static int
add_arg (arg_vector *v, const char *fmt, const char *value)
{
  char *s;

  if (asprintf (&s, fmt, value) == -1 || arg_vector_append (v, s) == -1) {
    set_error (ENOMEM, "nbdkit arguments");
    return -1;
  }
  return 0;
}

static void
free_args (arg_vector *v)
{
  for (size_t i = 0; i < v->len; i++)
    free (v->ptr[i]);
  free (v->ptr);
}

static int
build_args (const struct export_params *p, const char *pidfile, arg_vector *v)
{
  char port[16], fd[32];

  snprintf (port, sizeof port, "%d", p->port);
  snprintf (fd, sizeof fd, "/dev/fd/%d", p->key_fd);
  if (add_arg (v, "%s", "nbdkit") == -1 || add_arg (v, "%s", "-f") == -1
      || add_arg (v, "%s", "-r") == -1
      || add_arg (v, "%s", "--exit-with-parent") == -1
      || add_arg (v, "%s", "-P") == -1 || add_arg (v, "%s", pidfile) == -1)
    return -1;
  if (p->socket) {
    if (add_arg (v, "%s", "-U") == -1 || add_arg (v, "%s", p->socket) == -1)
      return -1;
  }
  else {
    if (add_arg (v, "%s", "-p") == -1 || add_arg (v, "%s", port) == -1)
      return -1;
    if (p->bind
        && (add_arg (v, "%s", "-i") == -1 || add_arg (v, "%s", p->bind) == -1))
      return -1;
  }
  if (add_arg (v, "%s", p->plugin) == -1
      || add_arg (v, "repo=%s", p->repo) == -1
      || add_arg (v, "backup=%s", p->backup) == -1
      || add_arg (v, "disk=%s", p->disk) == -1)
    return -1;
  if (p->key_fd >= 0 && add_arg (v, "key-file=%s", fd) == -1)
    return -1;
  if (p->event_log && add_arg (v, "event-log=%s", p->event_log) == -1)
    return -1;
  if (arg_vector_append (v, NULL) == -1) {
    set_error (ENOMEM, "nbdkit arguments");
    return -1;
  }
  return 0;
}

/* In the child: die with the parent, then become nbdkit. */
static void __attribute__ ((noreturn)) exec_nbdkit (char **argv, pid_t parent)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () != parent) /* the parent died before prctl */
    _exit (1);
  /* The key, if any, comes through the pipe (key-file=/dev/fd/N): no
   * secret of ours goes into nbdkit's environment. */
  unsetenv ("VMBACKUP_PASSWORD");
  unsetenv ("VMBACKUP_PASSWORD_FILE");
  unsetenv ("VMBACKUP_KEY_FILE");
  unsetenv ("VMBACKUP_NEW_PASSWORD");
  asan_preload_runtime ();
  /* exec resets our handlers; nbdkit gets the default actions. */
  execvp (argv[0], argv);
  _exit (errno == ENOENT ? 127 : 126);
}

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A stop signal seen.  Handlers, not sigwait: a signal for the
 * process may go to any thread that does not block it, and vmbackup
 * may have threads we did not start (the repository's). */
static volatile sig_atomic_t stop_signal;

static void
on_stop (int sig)
{
  stop_signal = sig;
}

static void
catch_stop_signals (void)
{
  struct sigaction sa = { .sa_handler = on_stop };

  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
}

/* Wait for child pid, passing a stop signal on as SIGTERM (SIGKILL if
 * it lingers) and calling ready once pidfile (if any) appears.  The
 * child's wait status is returned; *stopped says a stop signal came. */
static int
supervise (pid_t pid, const char *pidfile, void (*ready) (void *),
           void *opaque, double kill_after_s, bool *stopped)
{
  bool said_ready = pidfile == NULL;
  double kill_at = 0;
  int status;

  *stopped = false;
  for (;;) {
    struct timespec tick = { 0, 50 * 1000 * 1000 };

    if (stop_signal && !*stopped) {
      kill (pid, SIGTERM);
      *stopped = true;
      kill_at = now () + kill_after_s;
    }
    if (waitpid (pid, &status, WNOHANG) == pid)
      return status;
    if (*stopped && now () > kill_at)
      kill (pid, SIGKILL);
    if (!said_ready && access (pidfile, F_OK) == 0) {
      said_ready = true;
      if (ready)
        ready (opaque);
    }
    nanosleep (&tick, NULL); /* a signal cuts it short */
  }
}

/* The socket nbdkit listens on, as it was once nbdkit said so (its pid
 * file appears once it listens): what may be removed at the end.  A
 * path alone is not enough: after a kill, a new export (an instant
 * restore resumed) may listen at the same path before this one has
 * finished stopping, and its socket must stay. */
struct listening {
  const struct export_params *p;
  bool known;
  dev_t dev;
  ino_t ino;
  void (*ready) (void *); /* the caller's, after */
  void *opaque;
};

static void
note_listening (void *opaque)
{
  struct listening *l = opaque;
  struct stat st;

  if (l->p->socket && stat (l->p->socket, &st) == 0) {
    l->known = true;
    l->dev = st.st_dev;
    l->ino = st.st_ino;
  }
  if (l->ready)
    l->ready (l->opaque);
}

/* Remove what nbdkit leaves: its pid file and, if it got as far as
 * writing that, its socket; never a socket some other process made at
 * our path, before nbdkit could or after it stopped. */
static void
remove_leftovers (const struct listening *l, const char *pidfile,
                  const char *dir)
{
  struct stat st, pid;

  /* Not seen listening (nbdkit stopped within a poll of its start):
   * nbdkit binds before it writes its pid file, so a socket newer than
   * that file is another's. */
  if (l->p->socket && stat (pidfile, &pid) == 0
      && stat (l->p->socket, &st) == 0
      && (l->known ? st.st_dev == l->dev && st.st_ino == l->ino
                   : (st.st_mtim.tv_sec < pid.st_mtim.tv_sec
                      || (st.st_mtim.tv_sec == pid.st_mtim.tv_sec
                          && st.st_mtim.tv_nsec <= pid.st_mtim.tv_nsec))))
    unlink (l->p->socket);
  unlink (pidfile);
  rmdir (dir);
}

/* The keeper: a child of vmbackup that runs nbdkit and outlives a
 * kill -9 of vmbackup just long enough to stop nbdkit and remove what
 * it leaves (its socket, its pid file), which nbdkit does not remove
 * itself.  Exits 0 when nbdkit was stopped or stopped cleanly, 127 if
 * nbdkit is missing, else 1. */
static void __attribute__ ((noreturn))
keeper (const struct export_params *p, char **argv, const char *pidfile,
        const char *dir, pid_t parent)
{
  struct listening l = { .p = p };
  pid_t self = getpid (), pid;
  bool stopped;
  int status;

  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () != parent)
    stop_signal = SIGTERM;
  pid = fork ();
  if (pid == -1)
    _exit (1);
  if (pid == 0)
    exec_nbdkit (argv, self);
  status = supervise (pid, pidfile, note_listening, &l, STOP_TIMEOUT_S,
                      &stopped);
  remove_leftovers (&l, pidfile, dir);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    _exit (127);
  _exit (stopped || (WIFEXITED (status) && WEXITSTATUS (status) == 0) ? 0 : 1);
}

int
export_run (const struct export_params *p)
{
  char dir[] = "/tmp/vmbackup-export.XXXXXX";
  char pidfile[sizeof dir + 16];
  arg_vector args = empty_vector;
  struct listening l = { .p = p, .ready = p->ready, .opaque = p->opaque };
  pid_t pid, self = getpid ();
  int status = 0, r = -1;
  bool stopped;

  if (p->socket && access (p->socket, F_OK) == 0) {
    set_error (EEXIST, "%s already exists; remove it or choose another path",
               p->socket);
    return -1;
  }
  if (mkdtemp (dir) == NULL) {
    set_error (errno, "temporary directory");
    return -1;
  }
  snprintf (pidfile, sizeof pidfile, "%s/nbdkit.pid", dir);
  if (build_args (p, pidfile, &args) == -1)
    goto out;

  stop_signal = 0;
  catch_stop_signals ();
  pid = fork ();
  if (pid == -1) {
    set_error (errno, "fork");
    goto out;
  }
  if (pid == 0)
    keeper (p, args.ptr, pidfile, dir, self);

  /* Longer than the keeper's: killed first, it could not kill an
   * nbdkit that hangs in its exit (seen: a lock in a library's
   * destructor), which would then serve, or hang, for ever. */
  status = supervise (pid, pidfile, note_listening, &l, 2 * STOP_TIMEOUT_S,
                      &stopped);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    r = 0;
  else if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    set_error (ENOENT, "nbdkit is not installed (Debian: apt install nbdkit)");
  else if (stopped)
    r = 0;
  else
    set_error (0, "nbdkit failed (its message is above)");

out:
  /* The keeper removed them, unless it was killed too. */
  remove_leftovers (&l, pidfile, dir);
  free_args (&args);
  return r;
}
