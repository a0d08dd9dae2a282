/* vmbackup verify [ID...] */
#include <inttypes.h>
#include <stdio.h>

#include "common/error.h"
#include "repo/manifest.h"
#include "repo/verify.h"
#include "cli.h"
#include "parse_options.h"

static void
print_problem (void *opaque, const char *problem)
{
  (void) opaque;
  printf ("BAD %s\n", problem);
}

int
cmd_verify (int argc, char **argv)
{
  const char *repo_opt = NULL;
  struct backend_verify_result res;
  struct repo *repo;
  int c, r = EXIT_FAIL;
  const struct opt opts[] = {
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((c = parse_options ("verify", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  if (verify_run (repo, argv + optind, argc - optind, print_problem, NULL,
                  &res)
      == -1) {
    cli_error ("%s", get_error ());
    goto out;
  }
  printf ("verified %" PRIu64 " backup%s, %" PRIu64 " chunks read: %" PRIu64
          " problem%s\n",
          res.backups, res.backups == 1 ? "" : "s", res.chunks_read,
          res.problems, res.problems == 1 ? "" : "s");
  r = res.problems ? EXIT_FAIL : EXIT_OK;
out:
  repo_close (repo);
  return r;
}
