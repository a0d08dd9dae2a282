/* vmbackup prune: apply a retention policy per backup name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/events.h"
#include "repo/manifest.h"
#include "repo/prune.h"
#include "cli.h"
#include "parse_options.h"

/* Backups of one name are v->ptr[from..to), oldest first. */
static int
prune_group (struct repo *repo, manifest_vector *v, size_t from, size_t to,
             const struct keep_policy *policy, bool dry_run, size_t *removed,
             struct cli_lazy_events *lazy)
{
  size_t n = to - from;
  time_t *times = calloc (n, sizeof *times);
  bool *keep = calloc (n, sizeof *keep);
  int r = 0;

  if (times == NULL || keep == NULL) {
    free (times);
    free (keep);
    set_error (0, "out of memory");
    return -1;
  }
  /* prune_select wants newest first. */
  for (size_t i = 0; i < n; i++)
    times[i] = v->ptr[to - 1 - i]->time;
  prune_select (policy, times, n, keep);
  for (size_t i = 0; i < n; i++) {
    const struct manifest *m = v->ptr[to - 1 - i];
    if (!keep[i] && !dry_run && manifest_delete (repo, m->id) == -1) {
      /* Object Lock keeps it until its retention ends: say so, go on. */
      if (get_errno () == EPERM) {
        printf ("locked %s (Object Lock retention has not ended)\n", m->id);
        struct event_log *events = cli_lazy_events (lazy);
        if (events) {
          event_log_reset (events, m->name, m->id);
          event_emit (events, EV_PRUNE_LOCKED,
                      "not pruned: its Object Lock retention has not ended");
        }
        continue;
      }
      printf ("remove %s\n", m->id);
      r = -1;
      break;
    }
    printf ("%s %s\n", keep[i] ? "keep  " : "remove", m->id);
    if (!keep[i])
      (*removed)++;
  }
  free (times);
  free (keep);
  return r;
}

int
cmd_prune (int argc, char **argv)
{
  struct keep_policy policy = { { 0 } };
  const char *repo_opt = NULL, *name = NULL;
  char name_buf[NAME_MAX_LEN + 1];
  manifest_vector v = empty_vector;
  struct repo *repo;
  bool dry_run = false;
  size_t removed = 0;
  struct event_log events;
  struct cli_lazy_events lazy = { 0, &events };
  int c, r = EXIT_FAIL;
#define KEEP(name, kind, what) \
  OPT_INT (0, "keep-" name, &policy.n[kind], "N", 0, 1000000, "count", what)
  const struct opt opts[] = {
    KEEP ("last", KEEP_LAST, "N newest backups"),
    KEEP ("hourly", KEEP_HOURLY,
          "newest backup of each of the N latest "
          "hours that have one"),
    KEEP ("daily", KEEP_DAILY, "same for days"),
    KEEP ("weekly", KEEP_WEEKLY, "same for ISO weeks"),
    KEEP ("monthly", KEEP_MONTHLY, "same for months"),
    KEEP ("yearly", KEEP_YEARLY, "same for years"),
    OPT_FLAG (0, "dry-run", &dry_run,
              "print what would be kept and "
              "removed, and delete nothing"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };
#undef KEEP

  if ((c = parse_options ("prune", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (optind < argc)
    name = argv[optind++];
  if (optind != argc)
    return cli_usage_error ("prune", "unexpected argument '%s'", argv[optind]);
  if (keep_policy_empty (&policy))
    return cli_usage_error ("prune",
                            "give at least one --keep-* rule "
                            "(prune never deletes everything)");
  /* A VM's name, as backup_vm named its backups. */
  if (name && backup_name_of (name, name_buf) == -1)
    return cli_usage_error ("prune", "bad backup name '%s'", name);
  if (name)
    name = name_buf;
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  if (manifest_list (repo, name, &v, NULL, NULL) == -1) {
    cli_error ("%s", get_error ());
    goto out;
  }
  /* Group by name: sort is by time, so gather each name's run. */
  for (size_t i = 0; i < v.len; i++) {
    manifest_vector group = empty_vector;
    bool seen = false;
    for (size_t k = 0; k < i; k++)
      if (strcmp (v.ptr[k]->name, v.ptr[i]->name) == 0)
        seen = true;
    if (seen)
      continue;
    for (size_t k = i; k < v.len; k++)
      if (strcmp (v.ptr[k]->name, v.ptr[i]->name) == 0
          && manifest_vector_append (&group, v.ptr[k]) == -1) {
        cli_error ("out of memory");
        manifest_vector_reset (&group);
        goto out;
      }
    if (prune_group (repo, &group, 0, group.len, &policy, dry_run, &removed,
                     &lazy)
        == -1) {
      cli_error ("%s", get_error ());
      manifest_vector_reset (&group);
      goto out;
    }
    manifest_vector_reset (&group);
  }
  printf ("%s %zu backup%s%s\n", dry_run ? "would remove" : "removed", removed,
          removed == 1 ? "" : "s",
          removed && !dry_run ? "; run 'vmbackup gc' to free their chunks"
                              : "");
  r = EXIT_OK;
out:
  if (lazy.state == 1)
    event_log_close (&events);
  manifest_vector_free (&v);
  repo_close (repo);
  return r;
}
