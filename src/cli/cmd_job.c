/* vmbackup job list|show|run: scheduled jobs (src/jobs/, the format in
 * docs/vmbackup-jobs.pod).  The systemd units in systemd/ run
 * 'vmbackup job run NAME' from a timer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/events.h"
#include "common/strbuf.h"
#include "jobs/job.h"
#include "jobs/job_lock.h"
#include "jobs/job_report.h"
#include "jobs/job_run.h"
#include "cli.h"
#include "parse_options.h"

#define JOBS_DIR_HELP \
  "where job files are (default $VMBACKUP_JOBS_DIR, else " JOB_DEFAULT_DIR ")"

static const char *
jobs_dir (const char *opt)
{
  const char *env = getenv ("VMBACKUP_JOBS_DIR");

  return opt ? opt : env && env[0] ? env : JOB_DEFAULT_DIR;
}

static const char *
state_dir (const char *opt)
{
  const char *env = getenv ("VMBACKUP_JOBS_STATE_DIR");

  return opt ? opt : env && env[0] ? env : JOB_DEFAULT_STATE_DIR;
}

/* The one NAME operand of show and run. */
static const char *
job_operand (const char *cmd, int argc, char **argv)
{
  if (optind >= argc) {
    cli_usage_error ("job", "job %s needs a job NAME", cmd);
    return NULL;
  }
  if (optind + 1 < argc) {
    cli_usage_error ("job", "unexpected argument '%s'", argv[optind + 1]);
    return NULL;
  }
  return argv[optind];
}

static void
print_targets (const struct job *job)
{
  bool first = true;

  if (job->all_vms) {
    printf ("all VMs");
    first = false;
  }
  for (size_t i = 0; i < job->targets.len; i++) {
    printf ("%s%s %s", first ? "" : ", ",
            job_target_kind_name (job->targets.ptr[i].kind),
            job->targets.ptr[i].name);
    first = false;
  }
}

int
cmd_job_list (int argc, char **argv)
{
  const char *dir_opt = NULL;
  job_string_vector names = empty_vector;
  int c, r = EXIT_OK;
  const struct opt opts[] = {
    OPT_STRING (0, "jobs-dir", &dir_opt, "DIR", JOBS_DIR_HELP),
    OPT_END (),
  };

  if ((c = parse_options ("job list", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (optind < argc)
    return cli_usage_error ("job", "unexpected argument '%s'", argv[optind]);
  if (job_list (jobs_dir (dir_opt), &names) == -1) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < names.len; i++) {
    struct job job;
    if (job_load (jobs_dir (dir_opt), names.ptr[i], &job) == -1) {
      cli_error ("%s", get_error ());
      r = EXIT_FAIL;
      continue;
    }
    printf ("%-20s %s: ", job.name, job.repository);
    print_targets (&job);
    printf ("\n");
    job_free (&job);
  }
  job_string_vector_free (&names);
  return r;
}

static void
print_words (const char *key, const job_string_vector *v)
{
  if (v->len == 0)
    return;
  printf ("%s =", key);
  for (size_t i = 0; i < v->len; i++)
    printf (" %s", v->ptr[i]);
  printf ("\n");
}

int
cmd_job_show (int argc, char **argv)
{
  const char *dir_opt = NULL, *name;
  struct job job;
  int c;
  const struct opt opts[] = {
    OPT_STRING (0, "jobs-dir", &dir_opt, "DIR", JOBS_DIR_HELP),
    OPT_END (),
  };

  if ((c = parse_options ("job show", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if ((name = job_operand ("show", argc, argv)) == NULL)
    return EXIT_USAGE;
  if (job_load (jobs_dir (dir_opt), name, &job) == -1) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  /* The job as it will run: every setting, defaults included. */
  printf ("# %s\n", job.path);
  printf ("repository = %s\n", job.repository);
  if (job.key_file)
    printf ("key-file = %s\n", job.key_file);
  if (job.password_file)
    printf ("password-file = %s\n", job.password_file);
  if (job.connect)
    printf ("connect = %s\n", job.connect);
  printf ("consistency = %s\n", job.consistency);
  if (job.all_vms)
    printf ("vm = all\n");
  print_words ("exclude", &job.excludes);
  for (size_t i = 0; i < job.targets.len; i++) {
    const struct job_target *t = &job.targets.ptr[i];
    if (t->kind == JOB_TARGET_VM) {
      printf ("vm = %s\n", t->name);
      continue;
    }
    printf ("%s = %s=", job_target_kind_name (t->kind), t->name);
    for (size_t k = 0; k < t->paths.len; k++)
      printf ("%s%s", k ? " " : "", t->paths.ptr[k]);
    printf ("\n");
  }
  for (size_t i = 0; i < job.files_excludes.len; i++)
    printf ("files-exclude = %s\n", job.files_excludes.ptr[i]);
  for (int k = 0; k < KEEP_KINDS; k++)
    if (job.keep.n[k])
      printf ("keep-%s = %d\n", keep_kind_names[k], job.keep.n[k]);
  if (job.verify == JOB_VERIFY_EVERY)
    printf ("verify = %" PRId64 "h\n", job.verify_every / 3600);
  else
    printf ("verify = %s\n",
            job.verify == JOB_VERIFY_ALWAYS ? "always" : "never");
  if (job.copy_to) {
    printf ("copy-to = %s\n", job.copy_to);
    if (job.copy_key_file)
      printf ("copy-key-file = %s\n", job.copy_key_file);
    if (job.copy_password_file)
      printf ("copy-password-file = %s\n", job.copy_password_file);
    for (int k = 0; k < KEEP_KINDS; k++)
      if (job.copy_keep.n[k])
        printf ("copy-keep-%s = %d\n", keep_kind_names[k], job.copy_keep.n[k]);
  }
  printf ("concurrency = %d\n", job.concurrency);
  if (job.notify)
    printf ("notify = %s\n", job.notify);
  printf ("prometheus-file = %s\n",
          job.prometheus_file ? job.prometheus_file : "none");
  job_free (&job);
  return EXIT_OK;
}

/* The job's key source replaces any other, here and in the targets'
 * processes (which inherit the environment). */
static void
use_job_key (const struct job *job)
{
  if (job->key_file) {
    global_key_file = job->key_file;
    setenv ("VMBACKUP_KEY_FILE", job->key_file, 1);
    unsetenv ("VMBACKUP_PASSWORD_FILE");
    unsetenv ("VMBACKUP_PASSWORD");
  }
  else if (job->password_file) {
    global_key_file = NULL;
    unsetenv ("VMBACKUP_KEY_FILE");
    setenv ("VMBACKUP_PASSWORD_FILE", job->password_file, 1);
    unsetenv ("VMBACKUP_PASSWORD");
  }
  else if (global_key_file)
    setenv ("VMBACKUP_KEY_FILE", global_key_file, 1);
}

static void
print_problem (void *opaque, const char *problem)
{
  (void) opaque;
  printf ("BAD %s\n", problem);
}

/* A new connection for a run whose own went idle (job_run.h). */
static struct repo *
reopen_repo (void *opaque, struct repo *old)
{
  const struct job *job = opaque;

  repo_close (old);
  return cli_open_repo (job->repository);
}

/* The Prometheus file: the job's, else the node exporter's directory's
 * when there is one, else none. */
static const char *
prometheus_path (const struct job *job, char *buf, size_t len)
{
  struct stat st;

  if (job->prometheus_file)
    return job->prometheus_file;
  if (stat (JOB_DEFAULT_PROM_DIR, &st) == 0 && S_ISDIR (st.st_mode)) {
    snprintf (buf, len, "%s/vmbackup-job-%s.prom", JOB_DEFAULT_PROM_DIR,
              job->name);
    return buf;
  }
  return NULL;
}

/* Summary line, JSON, Prometheus file and notify: what the admin sees
 * of a run, whether it ran or could not start.  The exit status. */
static int
report (const struct job *job, const char *sdir, struct job_run_result *r,
        struct event_log *events)
{
  char json[4096], prom_buf[4096];
  const char *prom = prometheus_path (job, prom_buf, sizeof prom_buf);
  char *line = job_summary_line (job, r);
  int status = r->ok ? EXIT_OK : EXIT_FAIL;

  snprintf (json, sizeof json, "%s/%s.json", sdir, job->name);
  if (job_write_json (json, job, r, line) == -1) {
    cli_error ("job %s: summary: %s", job->name, get_error ());
    status = EXIT_FAIL;
  }
  if (prom && job_write_prometheus (prom, job, r) == -1) {
    cli_error ("job %s: prometheus-file: %s", job->name, get_error ());
    status = EXIT_FAIL;
  }
  if (!r->ok && job->notify) {
    int n = job_notify (job, line, json);
    if (n != 0) {
      char why[256];
      snprintf (why, sizeof why, "%s", n == -1 ? get_error () : "");
      if (n != -1)
        snprintf (why, sizeof why, "exit status %d", n);
      event_emit (events, EV_JOB_NOTIFY_FAILED, "notify: %s", why);
      cli_warning ("job %s: notify command failed: %s", job->name, why);
    }
  }
  fflush (stderr);
  printf ("%s\n", line);
  free (line);
  return status;
}

int
cmd_job_run (int argc, char **argv)
{
  const char *dir_opt = NULL, *state_opt = NULL, *name, *sdir;
  char self[4096];
  struct job job;
  struct event_log events;
  struct job_run_result r;
  struct repo *repo;
  struct job_run_opts o = { .verify_report = print_problem,
                            .reopen = reopen_repo,
                            .repo = &repo };
  char json[4096];
  ssize_t n;
  int c, lock, status;
  const struct opt opts[] = {
    OPT_STRING (0, "jobs-dir", &dir_opt, "DIR", JOBS_DIR_HELP),
    OPT_STRING (0, "state-dir", &state_opt, "DIR",
                "where the lock and the JSON summary are (default "
                "$VMBACKUP_JOBS_STATE_DIR, else " JOB_DEFAULT_STATE_DIR ")"),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((c = parse_options ("job run", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if ((name = job_operand ("run", argc, argv)) == NULL)
    return EXIT_USAGE;
  if (job_load (jobs_dir (dir_opt), name, &job) == -1) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  sdir = state_dir (state_opt);
  n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    cli_error ("cannot find the vmbackup executable: %s", strerror (errno));
    job_free (&job);
    return EXIT_FAIL;
  }
  self[n] = '\0';
  if ((lock = job_lock_take (sdir, job.name)) == -1) {
    cli_error ("%s", get_error ());
    job_free (&job);
    return EXIT_FAIL;
  }
  use_job_key (&job);
  if (global_event_log)
    setenv ("VMBACKUP_EVENT_LOG", global_event_log, 1);
  if (cli_open_events (&events) == -1) {
    job_lock_release (lock);
    job_free (&job);
    return EXIT_FAIL;
  }
  snprintf (json, sizeof json, "%s/%s.json", sdir, job.name);
  job_state_read (json, &o.last_success, &o.last_verify, &o.last_restore_test);
  o.self = self;
  o.events = &events;
  o.reopen_opaque = &job;
  repo = cli_open_repo (job.repository);
  if (repo == NULL) {
    char why[512];
    snprintf (why, sizeof why, "repository %s: cannot be opened",
              job.repository);
    job_run_failed (&job, &o, why, &r);
  }
  else if (job_run (&job, &o, &r) == -1) {
    char why[512];
    snprintf (why, sizeof why, "%s", get_error ());
    cli_error ("job %s: %s", job.name, why);
    job_run_result_free (&r);
    job_run_failed (&job, &o, why, &r);
  }
  status = report (&job, sdir, &r, &events);
  job_run_result_free (&r);
  repo_close (repo);
  event_log_close (&events);
  job_lock_release (lock);
  job_free (&job);
  return status;
}
