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

/* --restrict-to-names values, each a comma-separated list, into
 * o->restrict_names (empty items are skipped). */
static int
split_patterns (const struct opt_strings *in, struct serve_options *o)
{
  for (size_t i = 0; i < in->len; i++) {
    const char *p = in->v[i];

    while (*p) {
      size_t n = strcspn (p, ",");
      char **grown;

      if (n > 0) {
        grown = realloc (o->restrict_names,
                         (o->nnames + 1) * sizeof *o->restrict_names);
        if (grown == NULL)
          return -1;
        o->restrict_names = grown;
        if ((grown[o->nnames] = strndup (p, n)) == NULL)
          return -1;
        o->nnames++;
      }
      p += n + (p[n] == ',');
    }
  }
  return 0;
}

int
cmd_serve (int argc, char **argv)
{
  struct serve_options o = { 0 };
  const char *paths[64], *names[64], *repos[64];
  struct opt_strings restrict_to = OPT_STRINGS_INIT (paths);
  struct opt_strings restrict_repos = OPT_STRINGS_INIT (repos);
  struct opt_strings restrict_names = OPT_STRINGS_INIT (names);
  int c, r, idle = 3600;
  const struct opt opts[] = {
    OPT_FLAG (0, "append-only", &o.append_only,
              "backups can be added and "
              "read, but not deleted, pruned, gc'ed or overwritten"),
    OPT_STRING_LIST (0, "restrict-to-path", &restrict_to, "DIR",
                     "only "
                     "repositories at or under DIR (after resolving "
                     "symlinks and '..'); repeatable"),
    OPT_STRING_LIST (0, "restrict-to-repo", &restrict_repos,
                     "s3://BUCKET[/PREFIX]",
                     "only S3 repositories at or under this one (the "
                     "client names them ssh://HOST/s3://BUCKET/PREFIX; "
                     "endpoint and credentials from this host's "
                     "environment); repeatable"),
    OPT_STRING_LIST (0, "restrict-to-names", &restrict_names,
                     "PATTERN[,PATTERN...]",
                     "only backups whose name matches one of these shell "
                     "patterns ('web*'); repeatable"),
    OPT_INT (0, "idle-timeout", &idle, "SECONDS", 0, 86400 * 7, "seconds",
             "end a session that sends nothing for this long (default "
             "3600; 0: never)"),
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
  o.restrict_repos = calloc (restrict_repos.len + 1, sizeof *o.restrict_repos);
  if (o.restrict_repos == NULL) {
    cli_error ("out of memory");
    return EXIT_FAIL;
  }
  for (; o.nrepos < restrict_repos.len; o.nrepos++) {
    o.restrict_repos[o.nrepos] = serve_s3_canonical (
      restrict_repos.v[o.nrepos]);
    if (o.restrict_repos[o.nrepos] == NULL) {
      cli_error ("serve: --restrict-to-repo %s", get_error ());
      return EXIT_FAIL;
    }
  }
  if (split_patterns (&restrict_names, &o) == -1) {
    cli_error ("out of memory");
    return EXIT_FAIL;
  }
  o.idle_timeout = idle;
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
  for (size_t i = 0; i < o.nrepos; i++)
    free (o.restrict_repos[i]);
  free (o.restrict_repos);
  for (size_t i = 0; i < o.nnames; i++)
    free (o.restrict_names[i]);
  free (o.restrict_names);
  return r == -1 ? EXIT_FAIL : EXIT_OK;
}
