/* Finding, loading and freeing jobs (job.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "job.h"

/* A job file is a few lines; anything bigger is not one. */
#define JOB_FILE_MAX (1 << 20)

bool
job_name_is_valid (const char *name)
{
  size_t len = strlen (name);

  if (len == 0 || len > 64 || name[0] == '.')
    return false;
  return strspn (name,
                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "0123456789._-")
    == len;
}

const char *
job_target_kind_name (enum job_target_kind kind)
{
  switch (kind) {
    case JOB_TARGET_VM: return "vm";
    case JOB_TARGET_IMAGE: return "image";
    case JOB_TARGET_FILES: return "files";
    case JOB_TARGET_HOST: return "host";
  }
  return "?";
}

void
job_string_vector_free (job_string_vector *v)
{
  for (size_t i = 0; i < v->len; i++)
    free (v->ptr[i]);
  job_string_vector_reset (v);
}

void
job_free (struct job *job)
{
  for (size_t i = 0; i < job->targets.len; i++) {
    free (job->targets.ptr[i].name);
    job_string_vector_free (&job->targets.ptr[i].paths);
  }
  job_target_vector_reset (&job->targets);
  job_string_vector_free (&job->excludes);
  job_string_vector_free (&job->files_excludes);
  job_string_vector_free (&job->restore_test_checks);
  free (job->name);
  free (job->path);
  free (job->repository);
  free (job->key_file);
  free (job->password_file);
  free (job->connect);
  free (job->copy_to);
  free (job->copy_key_file);
  free (job->copy_password_file);
  free (job->notify);
  free (job->prometheus_file);
  memset (job, 0, sizeof *job);
}

int
job_load (const char *dir, const char *name, struct job *job)
{
  char path[4096];
  char *text = NULL;
  size_t len;
  int r;

  if (!job_name_is_valid (name)) {
    set_error (0,
               "bad job name '%s' (letters, digits, '.', '_', '-'; at most "
               "64)",
               name);
    return -1;
  }
  snprintf (path, sizeof path, "%s/%s.conf", dir, name);
  if (read_file (path, JOB_FILE_MAX, &text, &len) == -1) {
    if (get_errno () == ENOENT)
      set_error (0, "no job '%s' (%s does not exist)", name, path);
    return -1;
  }
  if (strlen (text) != len) {
    set_error (0, "%s: not a text file (NUL byte)", path);
    free (text);
    return -1;
  }
  r = job_parse (path, name, text, job);
  free (text);
  return r;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
job_list (const char *dir, job_string_vector *names)
{
  DIR *d = opendir (dir);
  struct dirent *e;

  if (d == NULL) {
    set_error (errno, "%s", dir);
    return -1;
  }
  while ((e = readdir (d)) != NULL) {
    size_t len = strlen (e->d_name);
    char *name;

    if (len <= 5 || strcmp (e->d_name + len - 5, ".conf") != 0)
      continue;
    name = strndup (e->d_name, len - 5);
    if (name == NULL || job_string_vector_append (names, name) == -1) {
      free (name);
      closedir (d);
      set_error (0, "out of memory");
      return -1;
    }
  }
  closedir (d);
  if (names->len)
    qsort (names->ptr, names->len, sizeof *names->ptr, compare_names);
  return 0;
}
