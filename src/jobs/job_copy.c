/* The copy step of a job run (job_copy.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "job_copy.h"
#include "job_spawn.h"

/* Run argv with env before the environment, and wait: its exit status,
 * or -1 with the error set. */
static int
run (char **argv, char *const env[])
{
  pid_t pid;
  int status;

  if (argv == NULL)
    return -1;
  pid = job_spawn_env (argv, env);
  if (pid == -1 || job_wait_any (&pid, 1, &status) == -1)
    return -1;
  return status;
}

/* The copy's key, and nothing else, for the target side of 'vmbackup
 * copy': the job's copy-key-file or copy-password-file, else none of
 * its own (the copy then takes the job's key, which job run has put in
 * the environment).  Whatever VMBACKUP_TO_* the caller's environment
 * had is hidden: the job file alone says which key the copy takes. */
static void
copy_env (const struct job *job, struct strbuf *key_file,
          struct strbuf *password_file, char *env[4])
{
  strbuf_addf (key_file, "VMBACKUP_TO_KEY_FILE=%s",
               job->copy_key_file ? job->copy_key_file : "");
  strbuf_addf (password_file, "VMBACKUP_TO_PASSWORD_FILE=%s",
               job->copy_password_file ? job->copy_password_file : "");
  env[0] = key_file->buf;
  env[1] = password_file->buf;
  env[2] = "VMBACKUP_TO_PASSWORD=";
  env[3] = NULL;
}

static void
copy_failed (const struct job_run_opts *o, struct job_run_result *r,
             const char *fmt, const char *what, int status)
{
  if (status == -1)
    snprintf (r->copy_error, sizeof r->copy_error, "%s %s: %s", fmt, what,
              get_error ());
  else
    snprintf (r->copy_error, sizeof r->copy_error,
              "%s %s: exit status %d (see its output and events 4100-4104)",
              fmt, what, status);
  event_emit (o->events, EV_JOB_COPY_FAILED, "%s", r->copy_error);
}

/* The copy's retention, one target's backup name at a time. */
static void
prune_copy (const struct job *job, const struct job_run_opts *o,
            const struct job_target *t, size_t n, struct job_run_result *r)
{
  char buf[NAME_MAX_LEN + 1];

  if (keep_policy_empty (&job->copy_keep))
    return;
  for (size_t i = 0; i < n; i++) {
    const char *name = job_backup_name (&t[i], buf);
    char **argv = job_copy_prune_argv (o->self, job, name);
    int status = run (argv, NULL);

    job_argv_free (argv);
    if (status != 0) {
      copy_failed (o, r, "prune in", job->copy_to, status);
      return;
    }
  }
}

void
job_copy (const struct job *job, const struct job_run_opts *o,
          const struct job_target *t, size_t n, struct job_run_result *r)
{
  manifest_vector v = empty_vector;
  struct strbuf key_file = STRBUF_INIT, password_file = STRBUF_INIT;
  char buf[NAME_MAX_LEN + 1];
  char **ids = NULL, **argv = NULL;
  char *env[4];
  int status;

  r->copy_ran = true;
  for (size_t i = 0; i < n; i++)
    if (job_list_backups (o, job_backup_name (&t[i], buf), &v) == -1) {
      copy_failed (o, r, "copy: list the backups of", t[i].name, -1);
      goto out;
    }
  if (v.len) {
    ids = calloc (v.len, sizeof *ids);
    if (ids == NULL) {
      set_error (0, "out of memory");
      copy_failed (o, r, "copy to", job->copy_to, -1);
      goto out;
    }
    for (size_t i = 0; i < v.len; i++)
      ids[i] = v.ptr[i]->id;
    copy_env (job, &key_file, &password_file, env);
    argv = job_copy_argv (o->self, job, ids, v.len);
    status = run (argv, env);
    if (status != 0) {
      copy_failed (o, r, "copy to", job->copy_to, status);
      goto out;
    }
  }
  r->copy_backups = v.len;
  prune_copy (job, o, t, n, r);
out:
  job_argv_free (argv);
  free (ids);
  strbuf_release (&key_file);
  strbuf_release (&password_file);
  manifest_vector_free (&v);
}
