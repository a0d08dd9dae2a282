/* vmbackup serve: the far end of --repo ssh://HOST/PATH. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "serve/server.h"
#include "cli.h"
#include "parse_options.h"

int
cmd_serve (int argc, char **argv)
{
  struct serve_options o = { 0 };
  const char *paths[64];
  struct opt_strings restrict_to = OPT_STRINGS_INIT (paths);
  int c, r;
  const struct opt opts[] = {
    OPT_FLAG (0, "append-only", &o.append_only,
              "backups can be added and "
              "read, but not deleted, pruned, gc'ed or overwritten"),
    OPT_STRING_LIST (0, "restrict-to-path", &restrict_to, "DIR",
                     "only "
                     "repositories at or under DIR (after resolving "
                     "symlinks and '..'); repeatable"),
    OPT_END (),
  };

  if ((c = parse_options ("serve", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  o.restrict_paths = calloc (restrict_to.len + 1, sizeof *o.restrict_paths);
  if (o.restrict_paths == NULL) {
    cli_error ("out of memory");
    return EXIT_FAIL;
  }
  /* Compared with resolved repository paths: resolve them too. */
  for (; o.nrestrict < restrict_to.len; o.nrestrict++) {
    const char *dir = restrict_to.v[o.nrestrict];
    o.restrict_paths[o.nrestrict] = realpath (dir, NULL);
    if (o.restrict_paths[o.nrestrict] == NULL) {
      cli_error ("serve: --restrict-to-path %s: %s", dir, strerror (errno));
      return EXIT_FAIL;
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
