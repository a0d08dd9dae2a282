/* vmbackup gc */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "common/error.h"
#include "common/events.h"
#include "common/units.h"
#include "repo/gc.h"
#include "cli.h"
#include "parse_options.h"

/* gc tells why it waits (a stopped backup holds a chunk directory),
 * and what Object Lock kept (also an event). */
static void
print_notice (void *opaque, const char *msg)
{
  struct event_log *events;

  fprintf (stderr, "vmbackup: %s\n", msg);
  if (strncmp (msg, BACKEND_NOTICE_LOCKED, strlen (BACKEND_NOTICE_LOCKED)) == 0
      && (events = cli_lazy_events (opaque)) != NULL)
    event_emit (events, EV_GC_LOCKED, "%s", msg + 4);
}

int
cmd_gc (int argc, char **argv)
{
  const char *repo_opt = NULL;
  struct gc_stats st;
  struct event_log events;
  struct cli_lazy_events lazy = { 0, &events };
  struct repo *repo;
  bool dry_run = false;
  char b[32];
  int r;
  const struct opt opts[] = {
    OPT_FLAG (0, "dry-run", &dry_run,
              "say what would be deleted, and "
              "delete nothing"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((r = parse_options ("gc", opts, argc, argv)) != PARSE_GO_ON)
    return r;
  if (optind != argc)
    return cli_usage_error ("gc", "unexpected argument '%s'", argv[optind]);
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  r = gc_run (repo, dry_run, &st, print_notice, &lazy);
  if (lazy.state == 1)
    event_log_close (&events);
  if (r == -1)
    cli_error ("gc: %s", get_error ());
  else
    printf ("%" PRIu64 " backups, %" PRIu64 " chunks in use; %s %" PRIu64
            " chunks, %" PRIu64 " indexes, %" PRIu64 " temporary files (%s)\n",
            st.backups, st.chunks_kept, dry_run ? "would delete" : "deleted",
            st.chunks_deleted, st.indexes_deleted, st.tmp_deleted,
            format_size (st.bytes_deleted, b, sizeof b));
  repo_close (repo);
  return r == -1 ? EXIT_FAIL : EXIT_OK;
}
