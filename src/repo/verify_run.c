/* A whole verify run: which backups, and where it runs (see verify.h,
 * verify_run). */
#include <errno.h>

#include "common/error.h"
#include "verify.h"

struct counted {
  verify_report_fn report;
  void *opaque;
  uint64_t problems;
};

static void
count_problem (void *opaque, const char *problem)
{
  struct counted *c = opaque;

  c->report (c->opaque, problem);
  c->problems++;
}

static void
bad_manifest (void *opaque, const char *id, const char *msg)
{
  (void) id;
  count_problem (opaque, msg);
}

int
verify_run (struct repo *repo, char *const *ids, size_t n,
            verify_report_fn report, void *opaque,
            struct backend_verify_result *res)
{
  struct counted c = { report, opaque, 0 };
  manifest_vector v = empty_vector;
  struct verify ver;
  int r = -1;

  if (repo->be->ops->verify_offload) {
    /* Run where the chunks are: nothing crosses the link but the
     * report. */
    if (repo->be->ops->verify_offload (repo->be, ids, n, report, opaque, res)
        == -1) {
      error_prefix ("verify");
      return -1;
    }
    return 0;
  }
  if (n == 0 && manifest_list (repo, NULL, &v, bad_manifest, &c) == -1)
    return -1;
  for (size_t i = 0; i < n; i++) {
    struct manifest *m = manifest_resolve (repo, ids[i]);
    if (m == NULL)
      count_problem (&c, get_error ());
    else if (manifest_vector_append (&v, m) == -1) {
      set_error (ENOMEM, "out of memory");
      manifest_free (m);
      goto out;
    }
  }
  verify_init (&ver, repo, count_problem, &c);
  for (size_t i = 0; i < v.len; i++) {
    if (verify_backup (&ver, v.ptr[i]) == -1) {
      error_prefix ("verify %s", v.ptr[i]->id);
      verify_free (&ver);
      goto out;
    }
  }
  res->backups = v.len;
  res->chunks_read = ver.chunks_read;
  res->problems = c.problems;
  verify_free (&ver);
  r = 0;
out:
  manifest_vector_free (&v);
  return r;
}
