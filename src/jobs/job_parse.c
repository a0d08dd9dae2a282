/* The job file parser (job.h; the format is docs/vmbackup-jobs.pod).
 * Every line is blank, a comment ('#' first), or "key = value"; every
 * key is known, every value checked, and a key that takes one value
 * may be given once.  The first problem ends the parse with one line
 * naming file, line and key. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "repo/manifest.h"
#include "vm/restore_test.h"
#include "job.h"

/* The whitespace-separated words of a value. */
static int
split_words (char *value, job_string_vector *out)
{
  char *save = NULL;

  for (char *w = strtok_r (value, " \t", &save); w;
       w = strtok_r (NULL, " \t", &save)) {
    char *copy = strdup (w);
    if (copy == NULL || job_string_vector_append (out, copy) == -1) {
      free (copy);
      return -1;
    }
  }
  return 0;
}

struct parse {
  const char *path;
  int line;
  const char *key;
  struct job *job;
  int seen[48]; /* line where each single-valued key was given */
};

__attribute__ ((format (printf, 2, 3))) static int
bad (struct parse *p, const char *fmt, ...)
{
  char msg[512];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  set_error (0, "%s:%d: %s: %s", p->path, p->line, p->key, msg);
  return -1;
}

static int
set_string (struct parse *p, char **slot, const char *value)
{
  *slot = strdup (value);
  if (*slot == NULL) {
    set_error (0, "out of memory");
    return -1;
  }
  return 0;
}

static int
parse_count (struct parse *p, const char *value, long lo, long hi, int *out)
{
  char *end;
  long n;

  errno = 0;
  n = strtol (value, &end, 10);
  if (!isdigit ((unsigned char) value[0]) || *end || errno || n < lo || n > hi)
    return bad (p, "bad value '%s' (a whole number from %ld to %ld)", value,
                lo, hi);
  *out = n;
  return 0;
}

static int
key_repository (struct parse *p, char *v)
{
  return set_string (p, &p->job->repository, v);
}

/* An absolute path for one of two keys that exclude each other (a key
 * file or a password file). */
static int
exclusive_path (struct parse *p, char *v, char **slot, char **other,
                const char *pair)
{
  if (v[0] != '/')
    return bad (p, "'%s' is not an absolute path", v);
  if (*slot || *other)
    return bad (p, "give one of %s", pair);
  return set_string (p, slot, v);
}

static int
key_key_file (struct parse *p, char *v)
{
  return exclusive_path (p, v, &p->job->key_file, &p->job->password_file,
                         "key-file and password-file");
}

static int
key_password_file (struct parse *p, char *v)
{
  return exclusive_path (p, v, &p->job->password_file, &p->job->key_file,
                         "key-file and password-file");
}

static int
key_connect (struct parse *p, char *v)
{
  return set_string (p, &p->job->connect, v);
}

static int
key_consistency (struct parse *p, char *v)
{
  static const char *const choices[] = { "auto", "application", "crash",
                                         "offline" };

  for (size_t i = 0; i < sizeof choices / sizeof choices[0]; i++)
    if (strcmp (v, choices[i]) == 0) {
      p->job->consistency = choices[i];
      return 0;
    }
  return bad (p, "bad value '%s' (auto, application, crash or offline)", v);
}

/* A target's name, unique among the job's targets (they become backup
 * names, and the summary reports each). */
static int
check_target_name (struct parse *p, const char *name, bool vm)
{
  char backup_name[NAME_MAX_LEN + 1];

  if (vm ? backup_name_of (name, backup_name) == -1 : !name_is_valid (name))
    return bad (p,
                "bad name '%s' (letters, digits, '.', '_', '-'; at most "
                "64)",
                name);
  for (size_t i = 0; i < p->job->targets.len; i++)
    if (strcmp (p->job->targets.ptr[i].name, name) == 0)
      return bad (p, "'%s' named twice", name);
  return 0;
}

static int
add_target (struct parse *p, enum job_target_kind kind, const char *name,
            job_string_vector paths)
{
  struct job_target t = { .kind = kind, .paths = paths };

  if ((t.name = strdup (name)) == NULL
      || job_target_vector_append (&p->job->targets, t) == -1) {
    free (t.name);
    set_error (0, "out of memory");
    return -1;
  }
  return 0;
}

static int
key_vm (struct parse *p, char *v)
{
  job_string_vector names = empty_vector;
  int r = 0;

  if (split_words (v, &names) == -1) {
    set_error (0, "out of memory");
    return -1;
  }
  for (size_t i = 0; r == 0 && i < names.len; i++) {
    if (strcmp (names.ptr[i], "all") == 0) {
      if (p->job->all_vms)
        r = bad (p, "'all' given twice");
      p->job->all_vms = true;
      continue;
    }
    job_string_vector none = empty_vector;
    if ((r = check_target_name (p, names.ptr[i], true)) == 0)
      r = add_target (p, JOB_TARGET_VM, names.ptr[i], none);
  }
  job_string_vector_free (&names);
  return r;
}

static int
key_host (struct parse *p, char *v)
{
  if (strcmp (v, "yes") != 0 && strcmp (v, "no") != 0)
    return bad (p, "bad value '%s' (yes or no)", v);
  p->job->host = strcmp (v, "yes") == 0;
  return 0;
}

static int
key_exclude (struct parse *p, char *v)
{
  if (split_words (v, &p->job->excludes) == -1) {
    set_error (0, "out of memory");
    return -1;
  }
  return 0;
}

static int
key_files_exclude (struct parse *p, char *v)
{
  char *copy = strdup (v);

  if (copy == NULL
      || job_string_vector_append (&p->job->files_excludes, copy) == -1) {
    free (copy);
    set_error (0, "out of memory");
    return -1;
  }
  return 0;
}

/* image = NAME=PATH and files = NAME=PATH [PATH...] */
static int
key_named_paths (struct parse *p, char *v, enum job_target_kind kind)
{
  char *eq = strchr (v, '='), *rest;
  job_string_vector paths = empty_vector;

  if (eq == NULL || eq == v || eq[1] == '\0')
    return bad (p, "'%s' is not NAME=PATH", v);
  rest = eq + 1;
  *eq = '\0';
  while (eq > v && (eq[-1] == ' ' || eq[-1] == '\t'))
    *--eq = '\0';
  if (check_target_name (p, v, false) == -1)
    return -1;
  if (split_words (rest, &paths) == -1) {
    set_error (0, "out of memory");
    return -1;
  }
  if (paths.len == 0 || (kind == JOB_TARGET_IMAGE && paths.len != 1)) {
    job_string_vector_free (&paths);
    return bad (p, "'%s' wants %s", v,
                kind == JOB_TARGET_IMAGE ? "one PATH" : "at least one PATH");
  }
  for (size_t i = 0; i < paths.len; i++)
    if (paths.ptr[i][0] != '/') {
      int r = bad (p, "'%s' is not an absolute path", paths.ptr[i]);
      job_string_vector_free (&paths);
      return r;
    }
  if (add_target (p, kind, v, paths) == -1) {
    job_string_vector_free (&paths);
    return -1;
  }
  return 0;
}

static int
key_image (struct parse *p, char *v)
{
  return key_named_paths (p, v, JOB_TARGET_IMAGE);
}

static int
key_files (struct parse *p, char *v)
{
  return key_named_paths (p, v, JOB_TARGET_FILES);
}

/* keep-* and copy-keep-*: one rule of the job's or the copy's policy. */
#define KEEP_KEY(fn, policy, kind)                                  \
  static int fn (struct parse *p, char *v)                          \
  {                                                                 \
    return parse_count (p, v, 0, 1000000, &p->job->policy.n[kind]); \
  }
KEEP_KEY (key_keep_last, keep, KEEP_LAST)
KEEP_KEY (key_keep_hourly, keep, KEEP_HOURLY)
KEEP_KEY (key_keep_daily, keep, KEEP_DAILY)
KEEP_KEY (key_keep_weekly, keep, KEEP_WEEKLY)
KEEP_KEY (key_keep_monthly, keep, KEEP_MONTHLY)
KEEP_KEY (key_keep_yearly, keep, KEEP_YEARLY)
KEEP_KEY (key_copy_keep_last, copy_keep, KEEP_LAST)
KEEP_KEY (key_copy_keep_hourly, copy_keep, KEEP_HOURLY)
KEEP_KEY (key_copy_keep_daily, copy_keep, KEEP_DAILY)
KEEP_KEY (key_copy_keep_weekly, copy_keep, KEEP_WEEKLY)
KEEP_KEY (key_copy_keep_monthly, copy_keep, KEEP_MONTHLY)
KEEP_KEY (key_copy_keep_yearly, copy_keep, KEEP_YEARLY)
#undef KEEP_KEY

static int
key_copy_to (struct parse *p, char *v)
{
  return set_string (p, &p->job->copy_to, v);
}

static int
key_copy_key_file (struct parse *p, char *v)
{
  return exclusive_path (p, v, &p->job->copy_key_file,
                         &p->job->copy_password_file,
                         "copy-key-file and copy-password-file");
}

static int
key_copy_password_file (struct parse *p, char *v)
{
  return exclusive_path (p, v, &p->job->copy_password_file,
                         &p->job->copy_key_file,
                         "copy-key-file and copy-password-file");
}

/* never, always, or an interval: N followed by h, d or w. */
static int
parse_cadence (struct parse *p, char *v, enum job_verify *mode, int64_t *every)
{
  char *end;
  long n;

  if (strcmp (v, "never") == 0) {
    *mode = JOB_VERIFY_NEVER;
    return 0;
  }
  if (strcmp (v, "always") == 0) {
    *mode = JOB_VERIFY_ALWAYS;
    return 0;
  }
  errno = 0;
  n = strtol (v, &end, 10);
  if (isdigit ((unsigned char) v[0]) && errno == 0 && n >= 1 && n <= 10000
      && end[0] && end[1] == '\0' && strchr ("hdw", end[0])) {
    *mode = JOB_VERIFY_EVERY;
    *every = n * (end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 7 * 86400);
    return 0;
  }
  return bad (p,
              "bad value '%s' (never, always, or an interval such as 12h, "
              "1d, 2w)",
              v);
}

static int
key_verify (struct parse *p, char *v)
{
  return parse_cadence (p, v, &p->job->verify, &p->job->verify_every);
}

static int
key_restore_test (struct parse *p, char *v)
{
  return parse_cadence (p, v, &p->job->restore_test,
                        &p->job->restore_test_every);
}

/* One check as restore-test takes it (vm/restore_test.h), the whole
 * value (a command has blanks); checked now so that a typo fails the
 * file, not the run. */
static int
key_restore_test_check (struct parse *p, char *v)
{
  struct restore_check c;
  char *copy;

  if (restore_check_parse (v, &c) == -1)
    return bad (p, "%s", get_error ());
  restore_check_release (&c);
  copy = strdup (v);
  if (copy == NULL
      || job_string_vector_append (&p->job->restore_test_checks, copy) == -1) {
    free (copy);
    set_error (0, "out of memory");
    return -1;
  }
  return 0;
}

static int
key_concurrency (struct parse *p, char *v)
{
  return parse_count (p, v, 1, JOB_MAX_CONCURRENCY, &p->job->concurrency);
}

static int
key_notify (struct parse *p, char *v)
{
  return set_string (p, &p->job->notify, v);
}

static int
key_prometheus_file (struct parse *p, char *v)
{
  if (strcmp (v, "none") == 0)
    return 0;
  if (v[0] != '/')
    return bad (p, "'%s' is not an absolute path (or none)", v);
  return set_string (p, &p->job->prometheus_file, v);
}

static const struct {
  const char *key;
  int (*fn) (struct parse *p, char *value);
  bool repeatable;
} keys[] = {
  { "repository", key_repository, false },
  { "key-file", key_key_file, false },
  { "password-file", key_password_file, false },
  { "connect", key_connect, false },
  { "consistency", key_consistency, false },
  { "vm", key_vm, true },
  { "exclude", key_exclude, true },
  { "host", key_host, false },
  { "image", key_image, true },
  { "files", key_files, true },
  { "files-exclude", key_files_exclude, true },
  { "keep-last", key_keep_last, false },
  { "keep-hourly", key_keep_hourly, false },
  { "keep-daily", key_keep_daily, false },
  { "keep-weekly", key_keep_weekly, false },
  { "keep-monthly", key_keep_monthly, false },
  { "keep-yearly", key_keep_yearly, false },
  { "verify", key_verify, false },
  { "restore-test", key_restore_test, false },
  { "restore-test-check", key_restore_test_check, true },
  { "copy-to", key_copy_to, false },
  { "copy-key-file", key_copy_key_file, false },
  { "copy-password-file", key_copy_password_file, false },
  { "copy-keep-last", key_copy_keep_last, false },
  { "copy-keep-hourly", key_copy_keep_hourly, false },
  { "copy-keep-daily", key_copy_keep_daily, false },
  { "copy-keep-weekly", key_copy_keep_weekly, false },
  { "copy-keep-monthly", key_copy_keep_monthly, false },
  { "copy-keep-yearly", key_copy_keep_yearly, false },
  { "concurrency", key_concurrency, false },
  { "notify", key_notify, false },
  { "prometheus-file", key_prometheus_file, false },
};
#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= sizeof ((struct parse *) 0)->seen / sizeof (int),
               "struct parse: seen[] has a slot per key");

static char *
trim (char *s)
{
  char *end;

  s += strspn (s, " \t");
  end = s + strlen (s);
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    *--end = '\0';
  return s;
}

static int
parse_line (struct parse *p, char *line)
{
  char *eq, *key, *value;
  size_t k;

  line = trim (line);
  if (line[0] == '\0' || line[0] == '#')
    return 0;
  p->key = "syntax";
  eq = strchr (line, '=');
  if (eq == NULL)
    return bad (p, "'%s' is not KEY = VALUE", line);
  *eq = '\0';
  key = trim (line);
  value = trim (eq + 1);
  for (k = 0; k < NKEYS && strcmp (keys[k].key, key) != 0; k++)
    ;
  if (k == NKEYS) {
    p->key = key;
    return bad (p, "unknown key (docs: man vmbackup-jobs)");
  }
  p->key = keys[k].key;
  if (value[0] == '\0')
    return bad (p, "no value");
  if (!keys[k].repeatable) {
    if (p->seen[k])
      return bad (p, "given twice (first on line %d)", p->seen[k]);
    p->seen[k] = p->line;
  }
  return keys[k].fn (p, value);
}

/* What concerns the file as a whole, once every line is read. */
static int
check_whole (struct parse *p)
{
  struct job *job = p->job;

  if (job->repository == NULL) {
    set_error (0, "%s: repository: missing", p->path);
    return -1;
  }
  if (job->targets.len == 0 && !job->all_vms && !job->host) {
    set_error (0, "%s: nothing to back up (give vm, image, files or host)",
               p->path);
    return -1;
  }
  if (job->excludes.len && !job->all_vms) {
    set_error (0, "%s: exclude: only with vm = all", p->path);
    return -1;
  }
  if (job->copy_to == NULL
      && (job->copy_key_file || job->copy_password_file
          || !keep_policy_empty (&job->copy_keep))) {
    set_error (0,
               "%s: copy-key-file, copy-password-file, copy-keep-*: "
               "only with copy-to",
               p->path);
    return -1;
  }
  if (job->copy_to && strcmp (job->copy_to, job->repository) == 0) {
    set_error (0, "%s: copy-to: the job's own repository", p->path);
    return -1;
  }
  /* Without copy-keep-*, the copy keeps what the job keeps. */
  if (job->copy_to && keep_policy_empty (&job->copy_keep))
    job->copy_keep = job->keep;
  return 0;
}

int
job_parse (const char *path, const char *name, const char *text,
           struct job *job)
{
  struct parse p = { .path = path, .job = job };
  char *copy = NULL, *line, *next;
  int r = -1;

  memset (job, 0, sizeof *job);
  job->consistency = "auto";
  job->concurrency = 1;
  if ((job->name = strdup (name)) == NULL
      || (job->path = strdup (path)) == NULL
      || (copy = strdup (text)) == NULL) {
    set_error (0, "out of memory");
    goto out;
  }
  for (line = copy; line; line = next) {
    next = strchr (line, '\n');
    if (next)
      *next++ = '\0';
    p.line++;
    if (parse_line (&p, line) == -1)
      goto out;
  }
  r = check_whole (&p);
out:
  free (copy);
  if (r == -1)
    job_free (job);
  return r;
}
