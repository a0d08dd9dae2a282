/* vmbackup init */
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "common/units.h"
#include "repo/repo.h"
#include "cli.h"
#include "parse_options.h"

int
cmd_init (int argc, char **argv)
{
  const char *repo_opt = NULL, *path;
  uint64_t chunk = REPO_DEFAULT_CHUNK;
  char buf[32];
  int c;
  /* repo_init checks the power of two and its bounds. */
  const struct opt opts[] = {
    OPT_SIZE (0, "chunk-size", &chunk, "SIZE", UINT32_MAX, "chunk size",
              "disks are cut in chunks of SIZE bytes: a power of two from "
              "64K to 16M (default 4M); it cannot change later"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((c = parse_options ("init", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (optind != argc)
    return cli_usage_error ("init", "unexpected argument '%s'", argv[optind]);
  path = cli_repo_path (repo_opt);
  if (path == NULL)
    return EXIT_FAIL;
  if (repo_init (path, chunk) == -1) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  printf ("created repository %s (chunk size %s)\n", path,
          format_size (chunk, buf, sizeof buf));
  return EXIT_OK;
}
