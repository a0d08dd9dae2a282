/* The restore-test janitor (restore_test.h, restore_test_janitor.h).
 *
 * It is a process of its own, started through exec, not a forked copy
 * of the run: the run has threads and a libvirt connection, which a
 * forked child could not use.  It holds none of the run's files open,
 * so the run's state file is unlocked as soon as the run dies. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "common/error.h"
#include "export/run_dir.h"
#include "virt/conn.h"
#include "restore_test_janitor.h"
#include "restore_test_state.h"

extern char **environ;

/* How long the janitor keeps trying (libvirtd restarting, a child of
 * the dead run still holding its lock for a moment). */
#define JANITOR_TRIES 60
#define JANITOR_PAUSE_MS 500

/* ---- the run's side ---- */

int
rt_janitor_start (const struct restore_test_opts *o, struct rt_janitor *j)
{
  char self[PATH_MAX];
  const char *argv[12];
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t none;
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  int p[2], k = 0, err;

  j->pid = -1;
  j->fd = -1;
  if (n <= 0) {
    set_error (errno, "the janitor: /proc/self/exe");
    return -1;
  }
  self[n] = '\0';
  argv[k++] = self;
  if (o->uri) {
    argv[k++] = "--connect";
    argv[k++] = o->uri;
  }
  if (o->events && o->events->path) {
    argv[k++] = "--event-log";
    argv[k++] = o->events->path;
  }
  argv[k++] = "restore-test";
  argv[k++] = "--janitor";
  argv[k++] = "--state-dir";
  argv[k++] = o->state_dir ? o->state_dir : RESTORE_TEST_STATE_DIR;
  argv[k] = NULL;
  if (pipe2 (p, O_CLOEXEC) == -1) {
    set_error (errno, "the janitor: pipe");
    return -1;
  }
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, p[0], 0);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_init (&attr);
  sigemptyset (&none);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSIGMASK);
  err = posix_spawn (&j->pid, self, &fa, &attr, (char *const *) argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  close (p[0]);
  if (err) {
    close (p[1]);
    j->pid = -1;
    set_error (err, "the janitor: run %s", self);
    return -1;
  }
  j->fd = p[1];
  return 0;
}

void
rt_janitor_tell (struct rt_janitor *j, const char *key, const char *value)
{
  char line[PATH_MAX + 64];
  int n;

  if (j->fd < 0)
    return;
  n = snprintf (line, sizeof line, "%s %s\n", key, value);
  if (n > 0 && (size_t) n < sizeof line && strchr (value, '\n') == NULL)
    if (write (j->fd, line, n) != n)
      return; /* it died: the next run's sweep is still there */
}

void
rt_janitor_dismiss (struct rt_janitor *j)
{
  if (j->fd >= 0) {
    /* A janitor that died already reads nothing: the write may fail. */
    ssize_t w = write (j->fd, "done\n", 5);
    (void) w;
    close (j->fd);
  }
  if (j->pid > 0)
    waitpid (j->pid, NULL, 0);
  j->fd = -1;
  j->pid = -1;
}

/* ---- the janitor's side ---- */

struct told {
  bool done;
  char vm[256], backup[256], run[PATH_MAX], test_vm[256], network[64];
};

static void
take (char *dst, size_t len, const char *line, const char *key)
{
  size_t k = strlen (key);

  if (strncmp (line, key, k) == 0 && line[k] == ' ')
    snprintf (dst, len, "%s", line + k + 1);
}

static void
listen_to_run (struct told *t)
{
  char line[PATH_MAX + 64];

  while (fgets (line, sizeof line, stdin)) {
    line[strcspn (line, "\n")] = '\0';
    if (strcmp (line, "done") == 0)
      t->done = true;
    take (t->vm, sizeof t->vm, line, "vm");
    take (t->backup, sizeof t->backup, line, "backup");
    take (t->run, sizeof t->run, line, "run");
    take (t->test_vm, sizeof t->test_vm, line, "test-vm");
    take (t->network, sizeof t->network, line, "network");
  }
}

int
restore_test_janitor (const char *uri, const char *state_dir,
                      struct event_log *events)
{
  struct told t = { 0 };
  virConnectPtr conn = NULL;
  unsigned removed = 0;
  int i;

  signal (SIGINT, SIG_IGN);
  signal (SIGTERM, SIG_IGN);
  signal (SIGHUP, SIG_IGN);
  listen_to_run (&t);
  if (t.done)
    return 0;
  event_log_reset (events, t.vm[0] ? t.vm : NULL,
                   t.backup[0] ? t.backup : NULL);
  for (i = 0; i < JANITOR_TRIES; i++) {
    unsigned n = 0;

    if (conn == NULL || virConnectIsAlive (conn) != 1) {
      if (conn)
        virConnectClose (conn);
      conn = virt_connect (uri);
    }
    if (conn && rt_state_sweep (conn, state_dir, events, &n) == 0)
      removed += n;
    if (conn && (t.run[0] == '\0' || access (t.run, F_OK) == -1))
      break;
    sleep_ms (JANITOR_PAUSE_MS);
  }
  /* libvirtd finishes a call the dead run had made (a define, a start)
   * even after the sweep: what the run named goes again, by name, while
   * no new run has taken its directory's name (and so these names);
   * only names a run makes (rt-...), whatever the pipe said. */
  for (int pass = 0; conn && strncmp (t.test_vm, "rt-", 3) == 0
       && strncmp (t.network, "rt-", 3) == 0 && pass < 2;
       pass++) {
    struct rt_state s = { .fd = -1 };

    sleep_ms (2000);
    if (access (t.run, F_OK) == 0)
      break;
    snprintf (s.vm, sizeof s.vm, "%s", t.test_vm);
    snprintf (s.network, sizeof s.network, "%s", t.network);
    rt_state_remove (conn, &s);
  }
  if (conn)
    virConnectClose (conn);
  return i < JANITOR_TRIES ? 0 : 1;
}
