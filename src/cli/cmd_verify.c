/* vmbackup verify [ID...] */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "common/error.h"
#include "repo/manifest.h"
#include "repo/verify.h"
#include "backend/ssh/ssh.h"
#include "cli.h"

struct tally {
  uint64_t problems;
};

static void
print_problem (void *opaque, const char *problem)
{
  struct tally *t = opaque;

  printf ("BAD %s\n", problem);
  t->problems++;
}

static void
bad_manifest (void *opaque, const char *id, const char *msg)
{
  (void) id;
  print_problem (opaque, msg);
}

int
cmd_verify (int argc, char **argv)
{
  static const struct option opts[] = {
    { "repo", required_argument, NULL, OPT_REPO },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  const char *repo_opt = NULL;
  manifest_vector v = empty_vector;
  struct tally tally = { 0 };
  struct verify ver;
  struct repo *repo;
  int c, r = EXIT_FAIL;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case OPT_REPO: repo_opt = optarg; break;
    case OPT_HELP: cli_help ("verify"); return EXIT_OK;
    default: return cli_usage_error ("verify", "bad option");
    }
  }
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  if (repo->remote) {
    /* Run where the chunks are: nothing crosses the link but the
     * report. */
    struct remote_verify_result res;
    if (remote_verify (repo, argv + optind, argc - optind, print_problem,
                       &tally, &res) == -1) {
      cli_error ("verify: %s", get_error ());
      goto out;
    }
    printf ("verified %" PRIu64 " backup%s, %" PRIu64 " chunks read: %"
            PRIu64 " problem%s\n", res.backups, res.backups == 1 ? "" : "s",
            res.chunks_read, res.problems, res.problems == 1 ? "" : "s");
    r = res.problems ? EXIT_FAIL : EXIT_OK;
    goto out;
  }
  if (optind == argc) {
    if (manifest_list (repo, NULL, &v, bad_manifest, &tally) == -1) {
      cli_error ("%s", get_error ());
      goto out;
    }
  }
  for (int i = optind; i < argc; i++) {
    struct manifest *m = manifest_resolve (repo, argv[i]);
    if (m == NULL)
      print_problem (&tally, get_error ());
    else if (manifest_vector_append (&v, m) == -1) {
      cli_error ("out of memory");
      manifest_free (m);
      goto out;
    }
  }
  verify_init (&ver, repo, print_problem, &tally);
  for (size_t i = 0; i < v.len; i++) {
    if (verify_backup (&ver, v.ptr[i]) == -1) {
      cli_error ("verify %s: %s", v.ptr[i]->id, get_error ());
      verify_free (&ver);
      goto out;
    }
  }
  printf ("verified %zu backup%s, %" PRIu64 " chunks read: %" PRIu64
          " problem%s\n", v.len, v.len == 1 ? "" : "s", ver.chunks_read,
          tally.problems, tally.problems == 1 ? "" : "s");
  verify_free (&ver);
  r = tally.problems ? EXIT_FAIL : EXIT_OK;
 out:
  manifest_vector_free (&v);
  repo_close (repo);
  return r;
}
