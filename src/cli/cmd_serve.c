/* vmbackup serve: the far end of --repo ssh://HOST/PATH. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "serve/server.h"
#include "cli.h"

int
cmd_serve (int argc, char **argv)
{
  static const struct option opts[] = {
    { "append-only", no_argument, NULL, 'a' },
    { "restrict-to-path", required_argument, NULL, 'r' },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  struct serve_options o = { 0 };
  int c, r;

  o.restrict_paths = calloc (argc, sizeof *o.restrict_paths);
  if (o.restrict_paths == NULL) {
    cli_error ("out of memory");
    return EXIT_FAIL;
  }
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'a': o.append_only = true; break;
    case 'r':
      /* Compared with resolved repository paths: resolve it too. */
      o.restrict_paths[o.nrestrict] = realpath (optarg, NULL);
      if (o.restrict_paths[o.nrestrict] == NULL) {
        cli_error ("serve: --restrict-to-path %s: %s", optarg,
                   strerror (errno));
        return EXIT_FAIL;
      }
      o.nrestrict++;
      break;
    case OPT_HELP: cli_help ("serve"); return EXIT_OK;
    default: return cli_usage_error ("serve", "bad option");
    }
  }
  if (optind != argc)
    return cli_usage_error ("serve", "unexpected argument '%s'", argv[optind]);
  /* A client that vanishes must end the session cleanly (dropping what
   * it did not commit), not kill us in the middle of a write. */
  signal (SIGPIPE, SIG_IGN);
  r = serve (&o, STDIN_FILENO, STDOUT_FILENO);
  if (r == -1)
    cli_error ("serve: %s", get_error ());
  for (size_t i = 0; i < o.nrestrict; i++)
    free (o.restrict_paths[i]);
  free (o.restrict_paths);
  return r == -1 ? EXIT_FAIL : EXIT_OK;
}
