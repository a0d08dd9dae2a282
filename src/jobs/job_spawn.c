/* Processes of a job run (job_spawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "repo/prune.h"
#include "job_spawn.h"

extern char **environ;

/* env (NULL-terminated "NAME=VALUE"), then the environment: getenv
 * takes the first of a name, so env's override.  Freed with free (the
 * strings are not copied). */
static char **
merged_env (char *const env[])
{
  size_t nenv = 0, nextra = 0;
  char **envp;

  while (environ[nenv])
    nenv++;
  while (env && env[nextra])
    nextra++;
  envp = calloc (nenv + nextra + 1, sizeof *envp);
  if (envp == NULL) {
    set_error (errno, "out of memory");
    return NULL;
  }
  if (nextra) /* env may be NULL: memcpy wants a pointer even for 0 */
    memcpy (envp, env, nextra * sizeof *envp);
  memcpy (envp + nextra, environ, nenv * sizeof *envp);
  return envp;
}

pid_t
job_spawn_env (char *const argv[], char *const env[])
{
  char **envp = merged_env (env);
  pid_t pid;
  int err;

  if (envp == NULL)
    return -1;
  err = posix_spawn (&pid, argv[0], NULL, NULL, argv, envp);
  free (envp);
  if (err) {
    set_error (err, "run %s", argv[0]);
    return -1;
  }
  return pid;
}

pid_t
job_spawn (char *const argv[])
{
  return job_spawn_env (argv, NULL);
}

static int
decode_status (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 255;
}

/* Each of our own pids is waited for by pid: waitpid(-1) would also
 * reap processes the repository's backend started (ssh). */
ssize_t
job_wait_any (const pid_t *pids, size_t n, int *status)
{
  const struct timespec pause = { 0, 50 * 1000 * 1000 };
  size_t live = 0, only = 0;
  int st;

  for (size_t i = 0; i < n; i++)
    if (pids[i] > 0) {
      live++;
      only = i;
    }
  if (live == 0) {
    set_error (0, "no process to wait for");
    return -1;
  }
  for (;;) {
    for (size_t i = 0; i < n; i++) {
      pid_t got;
      if (pids[i] <= 0)
        continue;
      /* One process: block on it rather than poll. */
      got = waitpid (pids[i], &st, live == 1 && i == only ? 0 : WNOHANG);
      if (got == -1 && errno == EINTR)
        continue;
      if (got == -1) {
        set_error (errno, "wait for process %ld", (long) pids[i]);
        return -1;
      }
      if (got == pids[i]) {
        *status = decode_status (st);
        return i;
      }
    }
    nanosleep (&pause, NULL);
  }
}

int
job_run_shell (const char *command, const char *text, char *const env[])
{
  posix_spawn_file_actions_t fa;
  char *argv[] = { "/bin/sh", "-c", (char *) command, NULL };
  char **envp = merged_env (env);
  int fds[2], err, st;
  pid_t pid;

  if (envp == NULL)
    return -1;
  if (pipe2 (fds, O_CLOEXEC) == -1) {
    set_error (errno, "pipe");
    free (envp);
    return -1;
  }
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, fds[0], 0);
  err = posix_spawn (&pid, argv[0], &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy (&fa);
  free (envp);
  close (fds[0]);
  if (err) {
    close (fds[1]);
    set_error (err, "run /bin/sh");
    return -1;
  }
  /* A command that does not read its input must not fail the write. */
  signal (SIGPIPE, SIG_IGN);
  (void) write_full (fds[1], text, strlen (text), -1);
  close (fds[1]);
  while (waitpid (pid, &st, 0) == -1)
    if (errno != EINTR) {
      set_error (errno, "wait for the notify command");
      return -1;
    }
  return decode_status (st);
}

DEFINE_VECTOR_TYPE (argv_vector, char *);

static void
push (argv_vector *v, const char *s, bool *oom)
{
  char *copy = s ? strdup (s) : NULL;

  if ((s && copy == NULL) || argv_vector_append (v, copy) == -1) {
    free (copy);
    *oom = true;
  }
}

/* 'vmbackup --repo R [-c URI]': what every process of a job starts
 * with. */
static void
push_common (argv_vector *v, const char *self, const struct job *job,
             bool *oom)
{
  push (v, self, oom);
  push (v, "--repo", oom);
  push (v, job->repository, oom);
  if (job->connect) {
    push (v, "-c", oom);
    push (v, job->connect, oom);
  }
}

/* The argv, NULL-terminated, or NULL (and v freed) when memory ran
 * out. */
static char **
finish_argv (argv_vector *v, bool oom)
{
  push (v, NULL, &oom);
  if (oom) {
    for (size_t i = 0; i < v->len; i++)
      free (v->ptr[i]);
    free (v->ptr);
    set_error (0, "out of memory");
    return NULL;
  }
  return v->ptr;
}

char **
job_target_argv (const char *self, const struct job *job,
                 const struct job_target *t)
{
  argv_vector v = empty_vector;
  struct strbuf spec = STRBUF_INIT;
  bool oom = false;

  push_common (&v, self, job, &oom);
  switch (t->kind) {
    case JOB_TARGET_VM:
      push (&v, "backup", &oom);
      push (&v, "--consistency", &oom);
      push (&v, job->consistency, &oom);
      push (&v, "--", &oom);
      push (&v, t->name, &oom);
      break;
    case JOB_TARGET_HOST:
      push (&v, "backup", &oom);
      push (&v, "--host", &oom);
      break;
    case JOB_TARGET_IMAGE:
      strbuf_addf (&spec, "%s=%s", t->name, t->paths.ptr[0]);
      push (&v, "backup", &oom);
      push (&v, "--image", &oom);
      push (&v, spec.buf, &oom);
      break;
    case JOB_TARGET_FILES:
      push (&v, "files", &oom);
      push (&v, "backup", &oom);
      push (&v, "--name", &oom);
      push (&v, t->name, &oom);
      for (size_t i = 0; i < job->files_excludes.len; i++) {
        push (&v, "--exclude", &oom);
        push (&v, job->files_excludes.ptr[i], &oom);
      }
      push (&v, "--", &oom);
      for (size_t i = 0; i < t->paths.len; i++)
        push (&v, t->paths.ptr[i], &oom);
      break;
  }
  strbuf_release (&spec);
  return finish_argv (&v, oom);
}

char **
job_restore_test_argv (const char *self, const struct job *job,
                       char *const *ids, size_t n)
{
  argv_vector v = empty_vector;
  bool oom = false;

  push_common (&v, self, job, &oom);
  push (&v, "restore-test", &oom);
  for (size_t i = 0; i < job->restore_test_checks.len; i++) {
    push (&v, "--check", &oom);
    push (&v, job->restore_test_checks.ptr[i], &oom);
  }
  push (&v, "--", &oom);
  for (size_t i = 0; i < n; i++)
    push (&v, ids[i], &oom);
  return finish_argv (&v, oom);
}

char **
job_copy_argv (const char *self, const struct job *job, char *const *ids,
               size_t n)
{
  argv_vector v = empty_vector;
  bool oom = false;

  push_common (&v, self, job, &oom);
  push (&v, "copy", &oom);
  push (&v, "--to", &oom);
  push (&v, job->copy_to, &oom);
  push (&v, "--", &oom);
  for (size_t i = 0; i < n; i++)
    push (&v, ids[i], &oom);
  return finish_argv (&v, oom);
}

char **
job_copy_prune_argv (const char *self, const struct job *job, const char *name)
{
  argv_vector v = empty_vector;
  bool oom = false;
  char opt[32], count[16];

  push (&v, self, &oom);
  push (&v, "--repo", &oom);
  push (&v, job->copy_to, &oom);
  push (&v, "prune", &oom);
  for (int k = 0; k < KEEP_KINDS; k++)
    if (job->copy_keep.n[k]) {
      snprintf (opt, sizeof opt, "--keep-%s", keep_kind_names[k]);
      snprintf (count, sizeof count, "%d", job->copy_keep.n[k]);
      push (&v, opt, &oom);
      push (&v, count, &oom);
    }
  push (&v, "--", &oom);
  push (&v, name, &oom);
  return finish_argv (&v, oom);
}

void
job_argv_free (char **argv)
{
  for (size_t i = 0; argv && argv[i]; i++)
    free (argv[i]);
  free (argv);
}
