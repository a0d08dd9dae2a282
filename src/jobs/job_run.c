/* One run of a job (job_run.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>
#include <time.h>

#include "common/error.h"
#include "repo/prune.h"
#include "vm/host.h"
#include "job_copy.h"
#include "job_run.h"
#include "job_spawn.h"

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *
job_backup_name (const struct job_target *t, char buf[NAME_MAX_LEN + 1])
{
  char host[NAME_MAX_LEN + 8] = "host-";

  if (t->kind == JOB_TARGET_VM)
    return backup_name_of (t->name, buf) == 0 ? buf : t->name;
  /* As backup --host names it (vm/host_backup.c). */
  if (t->kind == JOB_TARGET_HOST) {
    gethostname (host + 5, 59);
    host[64] = '\0';
    return backup_name_of (host, buf) == 0 ? buf : t->name;
  }
  return t->name;
}

static void free_targets (const struct job *job, struct job_target *t,
                          size_t n);

/* The targets of this run: the job's, then 'all' expanded to every VM
 * the host has that is neither named already nor excluded.  When the
 * host cannot be asked, 'all' is one failed target. */
static int
plan_targets (const struct job *job, struct job_target **out, size_t *n,
              char *all_error, size_t errlen)
{
  struct job_target *t;
  char **vms = NULL;
  size_t nvms = 0, k = 0;

  all_error[0] = '\0';
  if (job->all_vms) {
    struct vm_host *host = vm_host_open (job->connect);
    if (host == NULL || vm_host_list (host, &vms, &nvms) == -1)
      snprintf (all_error, errlen, "vm = all: %s", get_error ());
    vm_host_close (host);
  }
  t = calloc (job->targets.len + nvms + 2, sizeof *t);
  if (t == NULL) {
    for (size_t i = 0; i < nvms; i++)
      free (vms[i]);
    free (vms);
    set_error (errno, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < job->targets.len; i++)
    t[k++] = job->targets.ptr[i];
  for (size_t i = 0; i < nvms; i++) {
    bool skip = false;
    for (size_t j = 0; j < job->targets.len; j++)
      skip |= job->targets.ptr[j].kind == JOB_TARGET_VM
        && strcmp (job->targets.ptr[j].name, vms[i]) == 0;
    for (size_t j = 0; j < job->excludes.len; j++)
      skip |= strcmp (job->excludes.ptr[j], vms[i]) == 0;
    if (skip)
      free (vms[i]);
    else
      t[k++] = (struct job_target) { .kind = JOB_TARGET_VM, .name = vms[i] };
  }
  free (vms);
  /* Last: restore --all picks each VM's backup at or before it. */
  if (job->host) {
    char *host = strdup ("host");
    if (host == NULL) {
      free_targets (job, t, k);
      set_error (ENOMEM, "out of memory");
      return -1;
    }
    t[k++] = (struct job_target) { .kind = JOB_TARGET_HOST, .name = host };
  }
  *out = t;
  *n = k;
  return 0;
}

static void
free_targets (const struct job *job, struct job_target *t, size_t n)
{
  for (size_t i = job->targets.len; i < n; i++)
    free (t[i].name);
  free (t);
}

int
job_list_backups (const struct job_run_opts *o, const char *name,
                  manifest_vector *v)
{
  manifest_vector got = empty_vector;

  if (*o->repo == NULL
      || manifest_list (*o->repo, name, &got, NULL, NULL) == -1) {
    manifest_vector_free (&got);
    if (o->reopen == NULL)
      return -1;
    *o->repo = o->reopen (o->reopen_opaque, *o->repo);
    if (*o->repo == NULL) {
      set_error (0, "the repository cannot be opened again");
      return -1;
    }
    if (manifest_list (*o->repo, name, &got, NULL, NULL) == -1) {
      manifest_vector_free (&got);
      return -1;
    }
  }
  /* Appended only whole: what v held stays whatever happened. */
  if (manifest_vector_reserve (v, got.len) == -1) {
    manifest_vector_free (&got);
    set_error (ENOMEM, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < got.len; i++)
    manifest_vector_append (v, got.ptr[i]);
  manifest_vector_reset (&got);
  return 0;
}

/* The ID of the newest backup of the target's name, or "". */
static void
newest_backup (const struct job_run_opts *o, const struct job_target *t,
               char id[NAME_MAX_LEN + 64])
{
  manifest_vector v = empty_vector;
  char buf[NAME_MAX_LEN + 1];

  id[0] = '\0';
  if (job_list_backups (o, job_backup_name (t, buf), &v) == 0 && v.len)
    snprintf (id, NAME_MAX_LEN + 64, "%s", v.ptr[v.len - 1]->id);
  manifest_vector_free (&v);
}

/* The backup the target's process made: the newest of its name, when
 * that is not the one that was newest before it started.  (Not by
 * time: an ssh server stamps backups with its own clock.) */
static void
find_backup (const struct job_run_opts *o, const struct job_target *t,
             const char *before, struct job_target_result *res)
{
  manifest_vector v = empty_vector;
  char buf[NAME_MAX_LEN + 1];

  if (job_list_backups (o, job_backup_name (t, buf), &v) == 0 && v.len
      && strcmp (v.ptr[v.len - 1]->id, before) != 0) {
    const struct manifest *m = v.ptr[v.len - 1];
    snprintf (res->backup, sizeof res->backup, "%s", m->id);
    res->size = manifest_logical_size (m);
    res->stored_new = manifest_stored_new (m);
  }
  manifest_vector_free (&v);
}

static void
target_failed (const struct job_run_opts *o, struct job_target_result *res)
{
  res->ok = false;
  if (res->error[0])
    event_emit (o->events, EV_JOB_TARGET_FAILED, "%s %s: %s",
                job_target_kind_name (res->kind), res->name, res->error);
  else
    event_emit (o->events, EV_JOB_TARGET_FAILED, "%s %s: exit status %d",
                job_target_kind_name (res->kind), res->name, res->exit_status);
}

/* Back up every target, at most job->concurrency at once. */
static int
back_up (const struct job *job, const struct job_run_opts *o,
         const struct job_target *t, size_t n, struct job_run_result *r)
{
  pid_t *pids = calloc (n + 1, sizeof *pids);
  double *began = calloc (n + 1, sizeof *began);
  char (*before)[NAME_MAX_LEN + 64] = calloc (n + 1, sizeof *before);
  size_t next = 0, running = 0;
  int rc = 0;

  if (pids == NULL || began == NULL || before == NULL) {
    free (pids);
    free (began);
    free (before);
    set_error (errno, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    pids[i] = -1;
  while (next < n || running) {
    /* The host target waits for every other one to finish. */
    while (running < (size_t) job->concurrency && next < n
           && !(t[next].kind == JOB_TARGET_HOST && running > 0)) {
      struct job_target_result *res = &r->targets.ptr[next];
      char **argv = job_target_argv (o->self, job, &t[next]);
      newest_backup (o, &t[next], before[next]);
      began[next] = now ();
      pids[next] = argv ? job_spawn (argv) : -1;
      job_argv_free (argv);
      if (pids[next] == -1) {
        snprintf (res->error, sizeof res->error, "%s", get_error ());
        target_failed (o, res);
      }
      else
        running++;
      next++;
    }
    if (running == 0)
      break;
    int status;
    ssize_t i = job_wait_any (pids, n, &status);
    if (i == -1) {
      rc = -1;
      break;
    }
    struct job_target_result *res = &r->targets.ptr[i];
    pids[i] = -1;
    running--;
    res->seconds = now () - began[i];
    res->exit_status = status;
    res->ok = status == 0;
    find_backup (o, &t[i], before[i], res);
    if (!res->ok)
      target_failed (o, res);
  }
  free (pids);
  free (began);
  free (before);
  return rc;
}

/* Keep what the job's rules select of one name's backups. */
static int
prune_name (const struct job_run_opts *o, const char *name,
            const struct keep_policy *keep, size_t *removed)
{
  manifest_vector v = empty_vector;
  time_t *times = NULL;
  bool *kept = NULL;
  int rc = -1;

  if (job_list_backups (o, name, &v) == -1)
    goto out;
  times = calloc (v.len + 1, sizeof *times);
  kept = calloc (v.len + 1, sizeof *kept);
  if (times == NULL || kept == NULL) {
    set_error (errno, "out of memory");
    goto out;
  }
  /* prune_select wants newest first; the list is oldest first. */
  for (size_t i = 0; i < v.len; i++)
    times[i] = v.ptr[v.len - 1 - i]->time;
  prune_select (keep, times, v.len, kept);
  for (size_t i = 0; i < v.len; i++) {
    if (kept[i])
      continue;
    if (manifest_delete (*o->repo, v.ptr[v.len - 1 - i]->id) == -1)
      goto out;
    (*removed)++;
  }
  rc = 0;
out:
  free (times);
  free (kept);
  manifest_vector_free (&v);
  return rc;
}

/* Retention for each target backed up this time: a target whose backup
 * failed keeps what it has, so failing runs never thin out the last
 * good backups. */
static void
apply_retention (const struct job *job, const struct job_run_opts *o,
                 const struct job_target *t, size_t n,
                 struct job_run_result *r)
{
  char buf[NAME_MAX_LEN + 1];

  if (keep_policy_empty (&job->keep))
    return;
  for (size_t i = 0; i < n; i++) {
    if (!r->targets.ptr[i].ok)
      continue;
    if (prune_name (o, job_backup_name (&t[i], buf), &job->keep, &r->pruned)
        == -1) {
      snprintf (r->prune_error, sizeof r->prune_error, "prune %s: %s",
                t[i].name, get_error ());
      event_emit (o->events, EV_JOB_PRUNE_FAILED, "%s", r->prune_error);
      return;
    }
  }
}

static bool
verify_due (const struct job *job, const struct job_run_opts *o, int64_t at)
{
  switch (job->verify) {
    case JOB_VERIFY_NEVER: return false;
    case JOB_VERIFY_ALWAYS: return true;
    case JOB_VERIFY_EVERY:
      return o->last_verify <= 0 || at - o->last_verify >= job->verify_every;
  }
  return false;
}

/* Verify every backup the job's targets have in the repository. */
static void
verify (const struct job_run_opts *o, const struct job_target *t, size_t n,
        struct job_run_result *r)
{
  manifest_vector v = empty_vector;
  struct backend_verify_result res = { 0 };
  char buf[NAME_MAX_LEN + 1];
  char **ids = NULL;

  for (size_t i = 0; i < n; i++)
    if (job_list_backups (o, job_backup_name (&t[i], buf), &v) == -1)
      goto failed;
  r->verified = true;
  r->last_verify = r->started;
  if (v.len == 0)
    goto out;
  ids = calloc (v.len, sizeof *ids);
  if (ids == NULL) {
    set_error (errno, "out of memory");
    goto failed;
  }
  for (size_t i = 0; i < v.len; i++)
    ids[i] = v.ptr[i]->id;
  if (verify_run (*o->repo, ids, v.len, o->verify_report, o->opaque, &res)
      == -1)
    goto failed;
  r->verify_backups = res.backups;
  r->chunks_read = res.chunks_read;
  r->verify_problems = res.problems;
  if (res.problems)
    event_emit (o->events, EV_JOB_VERIFY_PROBLEMS,
                "%" PRIu64 " problem%s in %" PRIu64 " backups", res.problems,
                res.problems == 1 ? "" : "s", res.backups);
  goto out;
failed:
  r->verified = false;
  r->last_verify = o->last_verify;
  snprintf (r->verify_error, sizeof r->verify_error, "verify: %s",
            get_error ());
  event_emit (o->events, EV_JOB_VERIFY_PROBLEMS, "%s", r->verify_error);
out:
  free (ids);
  manifest_vector_free (&v);
}

static bool
restore_test_due (const struct job *job, const struct job_run_opts *o,
                  int64_t at)
{
  switch (job->restore_test) {
    case JOB_VERIFY_NEVER: return false;
    case JOB_VERIFY_ALWAYS: return true;
    case JOB_VERIFY_EVERY:
      return o->last_restore_test <= 0
        || at - o->last_restore_test >= job->restore_test_every;
  }
  return false;
}

/* Restore-test the VM backups this run made, in one vmbackup process
 * (it boots each as an isolated throw-away VM and removes it). */
static void
restore_test (const struct job *job, const struct job_run_opts *o,
              struct job_run_result *r)
{
  char **ids = calloc (r->targets.len + 1, sizeof *ids);
  char **argv = NULL;
  size_t n = 0;
  pid_t pid;
  int status = 0;

  if (ids == NULL) {
    snprintf (r->restore_test_error, sizeof r->restore_test_error,
              "restore-test: out of memory");
    goto out;
  }
  for (size_t i = 0; i < r->targets.len; i++)
    if (r->targets.ptr[i].kind == JOB_TARGET_VM && r->targets.ptr[i].ok
        && r->targets.ptr[i].backup[0])
      ids[n++] = r->targets.ptr[i].backup;
  if (n == 0)
    goto out; /* no VM backed up this time: nothing to boot */
  r->restore_tested = true;
  r->restore_tested_backups = n;
  argv = job_restore_test_argv (o->self, job, ids, n);
  pid = argv ? job_spawn (argv) : -1;
  if (pid == -1 || job_wait_any (&pid, 1, &status) == -1)
    snprintf (r->restore_test_error, sizeof r->restore_test_error,
              "restore-test: %s", get_error ());
  else if (status != 0)
    snprintf (r->restore_test_error, sizeof r->restore_test_error,
              "restore-test: exit status %d (see its output and events "
              "6100-6111)",
              status);
  else
    r->last_restore_test = r->started;
out:
  if (r->restore_test_error[0])
    event_emit (o->events, EV_JOB_RESTORE_TEST_FAILED, "%s",
                r->restore_test_error);
  job_argv_free (argv);
  free (ids);
}

int
job_run (const struct job *job, const struct job_run_opts *o,
         struct job_run_result *r)
{
  struct job_target *t = NULL;
  char all_error[512];
  size_t n = 0;
  double t0 = now ();

  memset (r, 0, sizeof *r);
  r->started = (int64_t) t0;
  r->last_verify = o->last_verify;
  r->last_restore_test = o->last_restore_test;
  r->last_success = o->last_success;
  event_log_reset (o->events, job->name, NULL);
  if (plan_targets (job, &t, &n, all_error, sizeof all_error) == -1)
    return -1;
  event_emit (o->events, EV_JOB_STARTED, "job %s: %zu target%s%s", job->name,
              n + (all_error[0] != 0), n + (all_error[0] != 0) == 1 ? "" : "s",
              job->all_vms ? " (vm = all)" : "");
  if (job_result_vector_reserve (&r->targets, n + 1) == -1) {
    free_targets (job, t, n);
    set_error (errno, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    struct job_target_result res = { .kind = t[i].kind };
    res.name = strdup (t[i].name);
    if (res.name == NULL) {
      free_targets (job, t, n);
      set_error (errno, "out of memory");
      return -1;
    }
    job_result_vector_append (&r->targets, res);
  }
  if (back_up (job, o, t, n, r) == -1) {
    free_targets (job, t, n);
    return -1;
  }
  if (all_error[0]) {
    struct job_target_result res = { .kind = JOB_TARGET_VM };
    res.name = strdup ("all");
    snprintf (res.error, sizeof res.error, "%s", all_error);
    if (res.name)
      job_result_vector_append (&r->targets, res);
    target_failed (o, &res);
  }
  for (size_t i = 0; i < r->targets.len; i++) {
    const struct job_target_result *res = &r->targets.ptr[i];
    if (!res->ok)
      r->failed++;
    r->size += res->size;
    r->stored_new += res->stored_new;
  }
  /* Before retention: a copy that keeps longer (copy-keep-*) gets each
   * backup before the job's own retention may remove it. */
  if (job->copy_to)
    job_copy (job, o, t, n, r);
  apply_retention (job, o, t, n, r);
  if (verify_due (job, o, r->started))
    verify (o, t, n, r);
  if (restore_test_due (job, o, r->started))
    restore_test (job, o, r);
  free_targets (job, t, n);
  r->finished = (int64_t) now ();
  r->seconds = now () - t0;
  r->ok = r->failed == 0 && r->prune_error[0] == '\0'
    && r->verify_error[0] == '\0' && r->verify_problems == 0
    && r->restore_test_error[0] == '\0' && r->copy_error[0] == '\0';
  if (r->ok) {
    r->last_success = r->finished;
    event_emit (o->events, EV_JOB_FINISHED,
                "job %s: %zu target%s backed up in %.1f s", job->name,
                r->targets.len, r->targets.len == 1 ? "" : "s", r->seconds);
  }
  else
    event_emit (o->events, EV_JOB_FAILED,
                "job %s: %zu of %zu targets failed%s%s%s%s", job->name,
                r->failed, r->targets.len,
                r->copy_error[0] ? ", copy failed" : "",
                r->prune_error[0] ? ", retention not applied" : "",
                r->verify_problems || r->verify_error[0] ? ", verify failed"
                                                         : "",
                r->restore_test_error[0] ? ", restore test failed" : "");
  return 0;
}

void
job_run_failed (const struct job *job, const struct job_run_opts *o,
                const char *error, struct job_run_result *r)
{
  memset (r, 0, sizeof *r);
  r->started = r->finished = time (NULL);
  r->last_verify = o->last_verify;
  r->last_success = o->last_success;
  r->last_restore_test = o->last_restore_test;
  snprintf (r->error, sizeof r->error, "%s", error);
  event_log_reset (o->events, job->name, NULL);
  event_emit (o->events, EV_JOB_FAILED, "job %s: %s", job->name, error);
}

void
job_run_result_free (struct job_run_result *r)
{
  for (size_t i = 0; i < r->targets.len; i++)
    free (r->targets.ptr[i].name);
  job_result_vector_reset (&r->targets);
}
