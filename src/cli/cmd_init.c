/* vmbackup init */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "common/units.h"
#include "repo/repo.h"
#include "cli.h"

int
cmd_init (int argc, char **argv)
{
  static const struct option opts[] = {
    { "chunk-size", required_argument, NULL, 's' },
    { "repo", required_argument, NULL, OPT_REPO },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  const char *repo_opt = NULL, *path;
  uint64_t chunk = REPO_DEFAULT_CHUNK;
  char buf[32];
  int c;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 's':
      if (parse_size (optarg, &chunk) == -1 || chunk > UINT32_MAX)
        return cli_usage_error ("init", "bad chunk size '%s'", optarg);
      break;
    case OPT_REPO: repo_opt = optarg; break;
    case OPT_HELP: cli_help ("init"); return EXIT_OK;
    default: return cli_usage_error ("init", "bad option");
    }
  }
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
