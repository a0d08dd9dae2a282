/* vmbackup copy --to REPO [--from REPO] ID... | --name NAME | --all
 * (the work is repo/copy.c). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/events.h"
#include "common/units.h"
#include "repo/copy.h"
#include "repo/manifest.h"
#include "cli.h"
#include "key_source.h"
#include "parse_options.h"

struct selection {
  manifest_vector v;
  unsigned failed; /* backups named that cannot be read */
};

static void
bad_manifest (void *opaque, const char *id, const char *msg)
{
  struct selection *s = opaque;

  s->failed++;
  cli_error ("copy %s: %s", id, msg);
}

/* The backups to copy, oldest first; -1 after printing when nothing can
 * be selected. */
static int
select_backups (struct repo *from, char **ids, int n, const char *name,
                bool all, struct selection *s)
{
  char encoded[NAME_MAX_LEN + 1];

  if (all || name) {
    if (name && backup_name_of (name, encoded) == -1) {
      cli_error ("--name %s: %s", name, get_error ());
      return -1;
    }
    if (manifest_list (from, name ? encoded : NULL, &s->v, bad_manifest, s)
        == -1) {
      cli_error ("list backups of %s: %s", from->path, get_error ());
      return -1;
    }
    if (name && s->v.len == 0 && s->failed == 0) {
      cli_error ("%s has no backup named %s", from->path, name);
      return -1;
    }
    return 0;
  }
  for (int i = 0; i < n; i++) {
    struct manifest *m = manifest_resolve (from, ids[i]);
    if (m == NULL) {
      cli_error ("copy %s: %s in %s", ids[i], get_error (), from->path);
      s->failed++;
      continue;
    }
    if (manifest_vector_append (&s->v, m) == -1) {
      manifest_free (m);
      cli_error ("out of memory");
      return -1;
    }
  }
  return 0;
}

static struct repo *
open_side (const char *path, const struct cli_key_side *side)
{
  struct repo *repo = repo_open (path);

  if (repo == NULL) {
    cli_error ("%s", get_error ());
    return NULL;
  }
  if (cli_repo_keys_side (repo, side) == -1) {
    repo_close (repo);
    return NULL;
  }
  return repo;
}

static void
say_one (const struct manifest *m, int r, bool dry_run,
         const struct copy_stats *st, const char *to, struct event_log *ev)
{
  char b[32];

  event_log_reset (ev, m->name, m->id);
  format_size (st->bytes_sent, b, sizeof b);
  if (r == 1) {
    printf ("skipped %s: already in %s\n", m->id, to);
    event_emit (ev, EV_COPY_BACKUP_SKIPPED, "already in %s", to);
  }
  else if (dry_run)
    printf ("would copy %s: %" PRIu64 " chunks (%s) missing in the target, "
            "%" PRIu64 " there\n",
            m->id, st->chunks_sent, b, st->chunks_present);
  else {
    printf ("copied %s: %" PRIu64 " chunks sent (%s), %" PRIu64
            " already there\n",
            m->id, st->chunks_sent, b, st->chunks_present);
    event_emit (ev, EV_COPY_BACKUP_COPIED,
                "copied to %s: %" PRIu64 " chunks sent (%s), %" PRIu64
                " already there",
                to, st->chunks_sent, b, st->chunks_present);
  }
}

int
cmd_copy (int argc, char **argv)
{
  const char *from_opt = NULL, *to_path = NULL, *name = NULL;
  const char *from_path;
  struct cli_key_side from_side = { "from", "VMBACKUP_FROM", NULL };
  struct cli_key_side to_side = { "to", "VMBACKUP_TO", NULL };
  bool all = false, dry_run = false;
  struct repo *from = NULL, *to = NULL;
  struct selection sel = { empty_vector, 0 };
  struct copy_stats total = { 0 };
  struct event_log events;
  bool events_open = false;
  unsigned copied = 0, skipped = 0, failed = 0;
  struct copy c;
  char b[32];
  int r = EXIT_FAIL, nids;
  const struct opt opts[] = {
    OPT_STRING (0, "to", &to_path, "DIR|URL",
                "the repository to copy into (required)"),
    OPT_STRING (0, "from", &from_opt, "DIR|URL",
                "the repository to copy from (default --repo, "
                "$VMBACKUP_REPO)"),
    OPT_STRING (0, "name", &name, "NAME", "copy every backup of NAME"),
    OPT_FLAG (0, "all", &all, "copy every backup"),
    OPT_FLAG (0, "dry-run", &dry_run,
              "say what would be copied and how much the target lacks; "
              "change nothing"),
    OPT_STRING (0, "from-key-file", &from_side.key_file, "PATH",
                "key file (or exported master key) of the source"),
    OPT_STRING (0, "to-key-file", &to_side.key_file, "PATH",
                "key file (or exported master key) of the target"),
    OPT_REPO (&from_opt),
    OPT_END (),
  };

  if ((r = parse_options ("copy", opts, argc, argv)) != PARSE_GO_ON)
    return r;
  r = EXIT_FAIL;
  nids = argc - optind;
  if (to_path == NULL)
    return cli_usage_error ("copy", "give the target with --to REPO");
  if ((nids > 0) + (name != NULL) + all != 1)
    return cli_usage_error ("copy",
                            "give backup IDs, --name NAME or --all (one "
                            "of them)");
  from_path = cli_repo_path (from_opt);
  if (from_path == NULL)
    return EXIT_FAIL;
  from = open_side (from_path, &from_side);
  if (from == NULL)
    goto out;
  to = open_side (to_path, &to_side);
  if (to == NULL)
    goto out;
  if (copy_open (&c, from, to, dry_run) == -1) {
    cli_error ("copy: %s", get_error ());
    goto out;
  }
  if (select_backups (from, argv + optind, nids, name, all, &sel) == -1
      || (!dry_run && cli_open_events (&events) == -1)) {
    copy_close (&c);
    goto out;
  }
  events_open = !dry_run;
  if (events_open) {
    event_log_reset (&events, NULL, NULL);
    event_emit (&events, EV_COPY_STARTED, "copy of %zu backup%s from %s to %s",
                sel.v.len, sel.v.len == 1 ? "" : "s", from->path, to->path);
  }
  for (size_t i = 0; i < sel.v.len; i++) {
    const struct manifest *m = sel.v.ptr[i];
    struct copy_stats st;
    int k = copy_backup (&c, m, &st);

    if (k == -1) {
      cli_error ("copy %s: %s", m->id, get_error ());
      if (events_open) {
        event_log_reset (&events, m->name, m->id);
        event_emit (&events, EV_COPY_BACKUP_FAILED, "not copied to %s: %s",
                    to->path, get_error ());
      }
      failed++;
      continue;
    }
    if (events_open || dry_run) {
      struct event_log quiet = { .fd = -1 };
      say_one (m, k, dry_run, &st, to->path, events_open ? &events : &quiet);
      strbuf_release (&quiet.lines);
      /* A long copy's log shows each backup as it is done. */
      fflush (stdout);
    }
    if (k == 1)
      skipped++;
    else
      copied++;
    total.chunks_sent += st.chunks_sent;
    total.bytes_sent += st.bytes_sent;
    total.chunks_present += st.chunks_present;
  }
  copy_close (&c);
  failed += sel.failed;
  format_size (total.bytes_sent, b, sizeof b);
  printf ("%s %u backup%s, skipped %u, failed %u: %" PRIu64
          " chunks %s (%s)\n",
          dry_run ? "would copy" : "copied", copied, copied == 1 ? "" : "s",
          skipped, failed, total.chunks_sent,
          dry_run ? "missing in the target" : "sent", b);
  if (events_open) {
    event_log_reset (&events, NULL, NULL);
    event_emit (&events, EV_COPY_FINISHED,
                "%u copied, %u skipped, %u failed: %" PRIu64
                " chunks sent (%s) to %s",
                copied, skipped, failed, total.chunks_sent, b, to->path);
    event_log_close (&events);
  }
  r = failed ? EXIT_FAIL : EXIT_OK;
out:
  manifest_vector_free (&sel.v);
  if (from)
    repo_close (from);
  if (to)
    repo_close (to);
  return r;
}
