/* vmbackup info: what kind of repository this is, without the key
 * (list --json is an array of backups that tools parse, so the
 * repository's own facts have a command of their own). */
#include <stdio.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "crypto/aead.h"
#include "repo/keyring.h"
#include "cli.h"
#include "parse_options.h"

int
cmd_info (int argc, char **argv)
{
  const char *repo_opt = NULL, *enc;
  struct repo *repo;
  char ids[KEYRING_MAX_SLOTS][BACKEND_KEY_ID_LEN + 1], buf[32];
  size_t nslots = 0;
  bool json = false;
  int r, version;
  const struct opt opts[] = {
    OPT_FLAG (0, "json", &json, "print one JSON object"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((r = parse_options ("info", opts, argc, argv)) != PARSE_GO_ON)
    return r;
  if (optind != argc)
    return cli_usage_error ("info", "unexpected argument '%s'", argv[optind]);
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  if (repo->encryption
      && repo->be->ops->key_list (repo->be, ids, KEYRING_MAX_SLOTS, &nslots)
        == -1) {
    cli_error ("%s", get_error ());
    repo_close (repo);
    return EXIT_FAIL;
  }
  enc = repo->encryption ? aead_cipher_name (repo->encryption) : "none";
  version = repo->encryption ? BACKEND_FORMAT_VERSION_ENCRYPTED
                             : REPO_FORMAT_VERSION;
  if (json) {
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf (&sb,
                 "{\"format\": %d, \"id\": \"%s\", \"chunk_size\": %u, "
                 "\"encryption\": ",
                 version, repo->id, repo->chunk_size);
    strbuf_add_json_string (&sb, enc);
    strbuf_addf (&sb, ", \"key_slots\": %zu}\n", nslots);
    fputs (sb.buf, stdout);
    strbuf_release (&sb);
  }
  else {
    printf ("repository  %s\n", repo->path);
    printf ("format      %d\n", version);
    printf ("id          %s\n", repo->id);
    printf ("chunk size  %s\n",
            format_size (repo->chunk_size, buf, sizeof buf));
    printf ("encryption  %s\n", enc);
    printf ("key slots   %zu\n", nslots);
  }
  repo_close (repo);
  return EXIT_OK;
}
