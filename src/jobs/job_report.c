/* Summaries of a job run (job_report.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libgen.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "job_report.h"
#include "job_spawn.h"

/* A summary is small; a bigger file is not ours. */
#define STATE_MAX (16 << 20)

/* Replace path atomically with buf, readable by all: the textfile
 * collector runs as its own user, and the summary holds no secret. */
static int
publish (const char *path, const char *buf, size_t len)
{
  CLEANUP_FREE char *copy = strdup (path);
  char *tmppath = NULL;
  int fd, rc;

  if (copy == NULL) {
    set_error (errno, "out of memory");
    return -1;
  }
  fd = tmpfile_create (dirname (copy), &tmppath);
  if (fd == -1)
    return -1;
  if (fchmod (fd, 0644) == -1 || write_full (fd, buf, len, -1) == -1) {
    set_error (errno, "write %s", path);
    tmpfile_discard (&fd, &tmppath);
    return -1;
  }
  rc = tmpfile_commit (fd, tmppath, path);
  free (tmppath);
  return rc;
}

static int64_t
get_int (json_object *o, const char *key)
{
  json_object *v;

  if (!json_object_object_get_ex (o, key, &v)
      || !json_object_is_type (v, json_type_int))
    return 0;
  return json_object_get_int64 (v);
}

void
job_state_read (const char *path, int64_t *last_success, int64_t *last_verify,
                int64_t *last_restore_test)
{
  char *text = NULL;
  size_t len;
  json_object *o;

  *last_success = *last_verify = *last_restore_test = 0;
  if (read_file (path, STATE_MAX, &text, &len) == -1)
    return;
  o = json_tokener_parse (text);
  free (text);
  if (o == NULL)
    return;
  *last_success = get_int (o, "last_success");
  *last_verify = get_int (o, "last_verify");
  *last_restore_test = get_int (o, "last_restore_test");
  json_object_put (o);
}

char *
job_summary_line (const struct job *job, const struct job_run_result *r)
{
  struct strbuf sb = STRBUF_INIT;
  char nw[32];
  size_t n = r->targets.len, shown = 0;

  if (r->error[0]) {
    strbuf_addf (&sb, "job %s: FAILED, %s", job->name, r->error);
    return strbuf_detach (&sb);
  }
  strbuf_addf (&sb, "job %s: %s, %zu of %zu target%s backed up", job->name,
               r->ok ? "ok" : "FAILED", n - r->failed, n, n == 1 ? "" : "s");
  if (r->failed) {
    strbuf_addstr (&sb, " (failed:");
    for (size_t i = 0; i < n; i++)
      if (!r->targets.ptr[i].ok && shown++ < 5)
        strbuf_addf (&sb, " %s", r->targets.ptr[i].name);
    if (shown > 5)
      strbuf_addf (&sb, " and %zu more", shown - 5);
    strbuf_addstr (&sb, ")");
  }
  strbuf_addf (&sb, ", %s new", format_size (r->stored_new, nw, sizeof nw));
  if (r->copy_error[0])
    strbuf_addstr (&sb, ", copy failed");
  else if (r->copy_ran)
    strbuf_addf (&sb, ", %zu backup%s in the copy", r->copy_backups,
                 r->copy_backups == 1 ? "" : "s");
  if (r->prune_error[0])
    strbuf_addstr (&sb, ", retention not applied");
  else if (!keep_policy_empty (&job->keep))
    strbuf_addf (&sb, ", %zu pruned", r->pruned);
  if (r->verify_error[0])
    strbuf_addstr (&sb, ", verify failed");
  else if (r->verified)
    strbuf_addf (&sb, ", verified %" PRIu64 " backup%s: %" PRIu64 " problem%s",
                 r->verify_backups, r->verify_backups == 1 ? "" : "s",
                 r->verify_problems, r->verify_problems == 1 ? "" : "s");
  if (r->restore_test_error[0])
    strbuf_addstr (&sb, ", restore test failed");
  else if (r->restore_tested)
    strbuf_addf (&sb, ", restore test passed (%zu backup%s)",
                 r->restore_tested_backups,
                 r->restore_tested_backups == 1 ? "" : "s");
  strbuf_addf (&sb, ", %.1f s", r->seconds);
  return strbuf_detach (&sb);
}

static json_object *
target_json (const struct job_target_result *t)
{
  json_object *o = json_object_new_object ();

  json_object_object_add (o, "name", json_object_new_string (t->name));
  json_object_object_add (o, "kind",
                          json_object_new_string (
                            job_target_kind_name (t->kind)));
  json_object_object_add (o, "status",
                          json_object_new_string (t->ok ? "ok" : "failed"));
  json_object_object_add (o, "exit_status",
                          json_object_new_int (t->exit_status));
  if (t->error[0])
    json_object_object_add (o, "error", json_object_new_string (t->error));
  json_object_object_add (o, "backup",
                          t->backup[0] ? json_object_new_string (t->backup)
                                       : NULL);
  json_object_object_add (o, "size", json_object_new_int64 (t->size));
  json_object_object_add (o, "stored_new",
                          json_object_new_int64 (t->stored_new));
  json_object_object_add (o, "seconds", json_object_new_double (t->seconds));
  return o;
}

int
job_write_json (const char *path, const struct job *job,
                const struct job_run_result *r, const char *summary)
{
  json_object *o = json_object_new_object ();
  json_object *targets = json_object_new_array ();
  json_object *v = json_object_new_object ();
  const char *text;
  int rc;

  json_object_object_add (o, "job", json_object_new_string (job->name));
  json_object_object_add (o, "status",
                          json_object_new_string (r->ok ? "ok" : "failed"));
  json_object_object_add (o, "summary", json_object_new_string (summary));
  if (r->error[0])
    json_object_object_add (o, "error", json_object_new_string (r->error));
  json_object_object_add (o, "started", json_object_new_int64 (r->started));
  json_object_object_add (o, "finished", json_object_new_int64 (r->finished));
  json_object_object_add (o, "seconds", json_object_new_double (r->seconds));
  json_object_object_add (o, "last_success",
                          json_object_new_int64 (r->last_success));
  json_object_object_add (o, "last_verify",
                          json_object_new_int64 (r->last_verify));
  json_object_object_add (o, "last_restore_test",
                          json_object_new_int64 (r->last_restore_test));
  json_object_object_add (o, "repository",
                          json_object_new_string (job->repository));
  json_object_object_add (o, "size", json_object_new_int64 (r->size));
  json_object_object_add (o, "stored_new",
                          json_object_new_int64 (r->stored_new));
  json_object_object_add (o, "failed", json_object_new_int64 (r->failed));
  for (size_t i = 0; i < r->targets.len; i++)
    json_object_array_add (targets, target_json (&r->targets.ptr[i]));
  json_object_object_add (o, "targets", targets);
  json_object_object_add (o, "pruned", json_object_new_int64 (r->pruned));
  if (r->prune_error[0])
    json_object_object_add (o, "prune_error",
                            json_object_new_string (r->prune_error));
  json_object_object_add (v, "ran", json_object_new_boolean (r->verified));
  json_object_object_add (v, "backups",
                          json_object_new_int64 (r->verify_backups));
  json_object_object_add (v, "chunks_read",
                          json_object_new_int64 (r->chunks_read));
  json_object_object_add (v, "problems",
                          json_object_new_int64 (r->verify_problems));
  if (r->verify_error[0])
    json_object_object_add (v, "error",
                            json_object_new_string (r->verify_error));
  json_object_object_add (o, "verify", v);
  v = json_object_new_object ();
  json_object_object_add (v, "ran",
                          json_object_new_boolean (r->restore_tested));
  json_object_object_add (v, "backups",
                          json_object_new_int64 (r->restore_tested_backups));
  if (r->restore_test_error[0])
    json_object_object_add (v, "error",
                            json_object_new_string (r->restore_test_error));
  json_object_object_add (o, "restore_test", v);
  if (job->copy_to) {
    v = json_object_new_object ();
    json_object_object_add (v, "to", json_object_new_string (job->copy_to));
    json_object_object_add (v, "ran", json_object_new_boolean (r->copy_ran));
    json_object_object_add (v, "backups",
                            json_object_new_int64 (r->copy_backups));
    if (r->copy_error[0])
      json_object_object_add (v, "error",
                              json_object_new_string (r->copy_error));
    json_object_object_add (o, "copy", v);
  }
  text = json_object_to_json_string_ext (o,
                                         JSON_C_TO_STRING_PRETTY
                                           | JSON_C_TO_STRING_NOSLASHESCAPE);
  {
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf (&sb, "%s\n", text);
    rc = publish (path, sb.buf, sb.len);
    strbuf_release (&sb);
  }
  json_object_put (o);
  return rc;
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void
add_label (struct strbuf *sb, const char *s)
{
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      strbuf_addf (sb, "\\%c", *s);
    else if (*s == '\n')
      strbuf_addstr (sb, "\\n");
    else
      strbuf_add (sb, s, 1);
  }
}

static void
metric_head (struct strbuf *sb, const char *name, const char *help)
{
  strbuf_addf (sb, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void
job_metric (struct strbuf *sb, const struct job *job, const char *name,
            const char *help, const char *value)
{
  metric_head (sb, name, help);
  strbuf_addf (sb, "%s{job=\"", name);
  add_label (sb, job->name);
  strbuf_addf (sb, "\"} %s\n", value);
}

static void
target_metric (struct strbuf *sb, const struct job *job,
               const struct job_run_result *r, const char *name,
               const char *help, int which)
{
  metric_head (sb, name, help);
  for (size_t i = 0; i < r->targets.len; i++) {
    const struct job_target_result *t = &r->targets.ptr[i];
    strbuf_addf (sb, "%s{job=\"", name);
    add_label (sb, job->name);
    strbuf_addstr (sb, "\",target=\"");
    add_label (sb, t->name);
    strbuf_addf (sb, "\",kind=\"%s\"} ", job_target_kind_name (t->kind));
    if (which == 0)
      strbuf_addf (sb, "%d\n", t->ok);
    else if (which == 1)
      strbuf_addf (sb, "%" PRIu64 "\n", t->stored_new);
    else if (which == 2)
      strbuf_addf (sb, "%" PRIu64 "\n", t->size);
    else
      strbuf_addf (sb, "%.3f\n", t->seconds);
  }
}

int
job_write_prometheus (const char *path, const struct job *job,
                      const struct job_run_result *r)
{
  struct strbuf sb = STRBUF_INIT;
  char v[64];
  int rc;

  snprintf (v, sizeof v, "%" PRId64, r->finished);
  job_metric (&sb, job, "vmbackup_job_last_run_timestamp_seconds",
              "When the last run of the job ended.", v);
  snprintf (v, sizeof v, "%" PRId64, r->last_success);
  job_metric (&sb, job, "vmbackup_job_last_success_timestamp_seconds",
              "When the last run that fully succeeded ended (0: never).", v);
  job_metric (&sb, job, "vmbackup_job_success",
              "1 if the last run fully succeeded, else 0.", r->ok ? "1" : "0");
  snprintf (v, sizeof v, "%" PRId64, r->last_restore_test);
  job_metric (&sb, job, "vmbackup_job_last_restore_test_timestamp_seconds",
              "When a restore test of the job last passed (0: never).", v);
  snprintf (v, sizeof v, "%.3f", r->seconds);
  job_metric (&sb, job, "vmbackup_job_duration_seconds",
              "How long the last run took.", v);
  snprintf (v, sizeof v, "%" PRIu64, r->stored_new);
  job_metric (&sb, job, "vmbackup_job_stored_new_bytes",
              "New bytes the last run stored in the repository.", v);
  snprintf (v, sizeof v, "%" PRIu64, r->size);
  job_metric (&sb, job, "vmbackup_job_size_bytes",
              "Logical size of the backups the last run made.", v);
  snprintf (v, sizeof v, "%zu", r->failed);
  job_metric (&sb, job, "vmbackup_job_failed_targets",
              "Targets the last run could not back up.", v);
  if (job->copy_to)
    job_metric (&sb, job, "vmbackup_job_copy_success",
                "1 if the last run copied its backups to copy-to, else 0.",
                r->copy_ran && r->copy_error[0] == '\0' ? "1" : "0");
  target_metric (&sb, job, r, "vmbackup_job_target_success",
                 "1 if the target was backed up by the last run, else 0.", 0);
  target_metric (&sb, job, r, "vmbackup_job_target_stored_new_bytes",
                 "New bytes the target's backup stored.", 1);
  target_metric (&sb, job, r, "vmbackup_job_target_size_bytes",
                 "Logical size of the target's backup.", 2);
  target_metric (&sb, job, r, "vmbackup_job_target_duration_seconds",
                 "How long the target's backup took.", 3);
  rc = publish (path, sb.buf, sb.len);
  strbuf_release (&sb);
  return rc;
}

int
job_notify (const struct job *job, const char *summary, const char *json_path)
{
  struct strbuf name = STRBUF_INIT, line = STRBUF_INIT, json = STRBUF_INIT;
  struct strbuf input = STRBUF_INIT;
  char *env[5];
  int r;

  strbuf_addf (&name, "VMBACKUP_JOB=%s", job->name);
  strbuf_addf (&line, "VMBACKUP_JOB_SUMMARY=%s", summary);
  strbuf_addf (&json, "VMBACKUP_JOB_JSON=%s", json_path);
  strbuf_addf (&input, "%s\n", summary);
  env[0] = name.buf;
  env[1] = "VMBACKUP_JOB_STATUS=failed";
  env[2] = line.buf;
  env[3] = json.buf;
  env[4] = NULL;
  r = job_run_shell (job->notify, input.buf, env);
  strbuf_release (&name);
  strbuf_release (&line);
  strbuf_release (&json);
  strbuf_release (&input);
  return r;
}
