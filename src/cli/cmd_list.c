/* vmbackup list */
#include <inttypes.h>
#include <stdio.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "crypto/aead.h"
#include "repo/manifest.h"
#include "cli.h"
#include "parse_options.h"

static void
warn_unreadable (void *opaque, const char *id, const char *msg)
{
  (void) opaque;
  (void) id;
  cli_warning ("%s (run 'vmbackup verify')", msg);
}

/* The repository's cipher, on each backup: a consumer of the array
 * learns whether what it lists is encrypted without another command. */
static void
print_json (const manifest_vector *v, const char *encryption)
{
  struct strbuf sb = STRBUF_INIT;
  char t[32];

  strbuf_addstr (&sb, "[");
  for (size_t i = 0; i < v->len; i++) {
    const struct manifest *m = v->ptr[i];
    strbuf_addstr (&sb, i ? ",\n {" : "\n {");
    strbuf_addstr (&sb, "\"id\": ");
    strbuf_add_json_string (&sb, m->id);
    strbuf_addstr (&sb, ", \"name\": ");
    strbuf_add_json_string (&sb, m->name);
    strbuf_addstr (&sb, ", \"kind\": ");
    strbuf_add_json_string (&sb, m->kind);
    strbuf_addf (&sb, ", \"time\": \"%s\", \"unix_time\": %" PRId64,
                 format_time (m->time, t, sizeof t), m->time);
    strbuf_addf (&sb,
                 ", \"logical_size\": %" PRIu64 ", \"stored_new\": %" PRIu64
                 ", \"consistency\": ",
                 manifest_logical_size (m), manifest_stored_new (m));
    strbuf_add_json_string (&sb, m->consistency);
    strbuf_addf (&sb, ", \"downtime_ms\": %" PRId64, m->downtime_ms);
    strbuf_addstr (&sb, ", \"encryption\": ");
    strbuf_add_json_string (&sb, encryption);
    if (m->checkpoint) {
      strbuf_addstr (&sb, ", \"checkpoint\": ");
      strbuf_add_json_string (&sb, m->checkpoint);
    }
    strbuf_addstr (&sb, ", \"disks\": [");
    for (size_t k = 0; k < m->disks.len; k++) {
      strbuf_addstr (&sb, k ? ", {\"name\": " : "{\"name\": ");
      strbuf_add_json_string (&sb, m->disks.ptr[k].name);
      strbuf_addstr (&sb, ", \"format\": ");
      strbuf_add_json_string (&sb, m->disks.ptr[k].format);
      strbuf_addf (&sb,
                   ", \"size\": %" PRIu64 ", \"read\": \"%s\", "
                   "\"bytes_read\": %" PRIu64 ", \"stored_new\": %" PRIu64 "}",
                   m->disks.ptr[k].size,
                   m->disks.ptr[k].incremental ? "incremental" : "full",
                   m->disks.ptr[k].bytes_read, m->disks.ptr[k].stored_new);
    }
    strbuf_addstr (&sb, "], \"files\": [");
    for (size_t k = 0; k < m->files.len; k++) {
      strbuf_addstr (&sb, k ? ", {\"role\": " : "{\"role\": ");
      strbuf_add_json_string (&sb, m->files.ptr[k].role);
      strbuf_addstr (&sb, ", \"path\": ");
      strbuf_add_json_string (&sb, m->files.ptr[k].path);
      strbuf_addf (&sb, ", \"size\": %" PRIu64 "}", m->files.ptr[k].size);
    }
    strbuf_addstr (&sb, "]}");
  }
  strbuf_addstr (&sb, v->len ? "\n]\n" : "]\n");
  fputs (sb.buf, stdout);
  strbuf_release (&sb);
}

int
cmd_list (int argc, char **argv)
{
  const char *repo_opt = NULL, *name = NULL;
  char name_buf[NAME_MAX_LEN + 1];
  manifest_vector v = empty_vector;
  struct repo *repo;
  bool json = false;
  int c, r = EXIT_OK;
  const struct opt opts[] = {
    OPT_FLAG (0, "json", &json,
              "print JSON: every field of each backup, "
              "its disks and the files kept with it"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((c = parse_options ("list", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (optind < argc)
    name = argv[optind++];
  if (optind != argc)
    return cli_usage_error ("list", "unexpected argument '%s'", argv[optind]);
  /* A VM's name, as backup_vm named its backups. */
  if (name && backup_name_of (name, name_buf) == -1)
    return cli_usage_error ("list", "bad backup name '%s'", name);
  if (name)
    name = name_buf;
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  if (manifest_list (repo, name, &v, warn_unreadable, NULL) == -1) {
    cli_error ("%s", get_error ());
    r = EXIT_FAIL;
  }
  else if (json)
    print_json (&v,
                repo->encryption ? aead_cipher_name (repo->encryption)
                                 : "none");
  else {
    if (v.len)
      printf ("%-40s %-20s %10s %10s %-11s %s\n", "ID", "TIME", "SIZE", "NEW",
              "CONSISTENCY", "KIND");
    for (size_t i = 0; i < v.len; i++) {
      const struct manifest *m = v.ptr[i];
      char t[32], s[32], n[32];
      printf ("%-40s %-20s %10s %10s %-11s %s\n", m->id,
              format_time (m->time, t, sizeof t),
              format_size (manifest_logical_size (m), s, sizeof s),
              format_size (manifest_stored_new (m), n, sizeof n),
              m->consistency, m->kind);
    }
  }
  manifest_vector_free (&v);
  repo_close (repo);
  return r;
}
