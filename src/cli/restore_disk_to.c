/* vmbackup restore ID --to PATH [--disk NAME] [--format F] [--resume]
 * [--bandwidth MIB]:
 * one disk of a backup into a new image file (engine/restore_disk.h),
 * with a progress bar, its events (2000-2003) and a summary line. */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "common/error.h"
#include "common/events.h"
#include "common/units.h"
#include "engine/restore_disk.h"
#include "repo/manifest.h"
#include "cli.h"

struct disk_to {
  struct progress prog;
  struct event_log *events;
  const struct manifest_disk *disk;
};

static void
resumed (void *opaque, uint64_t chunks, uint64_t of)
{
  struct disk_to *t = opaque;
  char what[256];

  snprintf (what, sizeof what,
            "disk %s: goes on from chunk %" PRIu64 " of %" PRIu64
            " (%.0f%%), written by an earlier restore",
            t->disk->name, chunks, of, 100.0 * (double) chunks / (double) of);
  event_emit (t->events, EV_RESTORE_RESUMED, "%s", what);
  /* Before the progress bar starts; an instant restore's keeper reads
   * this line from its fill (instant_fill.c). */
  printf ("resuming: %s\n", what);
  fflush (stdout);
}

static void
progress (void *opaque, uint64_t done, uint64_t total)
{
  struct disk_to *t = opaque;

  progress_update (&t->prog, done, total);
}

static bool
partial_kept (const char *to)
{
  char partial[4096];

  return restore_partial_path (to, partial, sizeof partial) == 0
    && access (partial, F_OK) == 0;
}

int
cli_restore_disk_to (struct repo *repo, const struct manifest *m,
                     const char *diskname, const char *to, const char *format,
                     bool resume, int bandwidth_mib)
{
  const struct manifest_disk *disk = cli_pick_disk (m, diskname);
  struct event_log events = { 0 };
  struct disk_to t = { .events = &events };
  double t0 = now_monotonic ();
  char sz[32];
  int r;

  if (disk == NULL)
    return EXIT_FAIL;
  if (cli_open_events (&events) == -1)
    return EXIT_FAIL;
  event_log_reset (&events, m->name, m->id);
  event_emit (&events, EV_RESTORE_STARTED, "restore of %s disk %s to %s%s",
              m->id, disk->name, to, resume ? " (resumable)" : "");
  t.disk = disk;
  progress_init (&t.prog, disk->name);
  struct restore_disk_params p = {
    .repo = repo,
    .disk = disk,
    .path = to,
    .format = format ? format : disk->format,
    .resume = resume,
    .bandwidth_mib = bandwidth_mib,
    .progress = progress,
    .resumed = resumed,
    .progress_opaque = &t,
  };
  r = restore_disk (&p);
  progress_finish (&t.prog);
  if (r == -1) {
    event_emit (&events, EV_RESTORE_FAILED, "%s", get_error ());
    cli_error ("restore %s: %s%s", m->id, get_error (),
               resume && partial_kept (to)
                 ? " (what was written is kept: the same command goes on "
                   "from it)"
                 : "");
    event_log_close (&events);
    return EXIT_FAIL;
  }
  event_emit (&events, EV_RESTORE_FINISHED, "disk %s restored to %s (%s)",
              disk->name, to, p.format);
  event_log_close (&events);
  printf ("restored %s disk %s to %s (%s, %s) in %.1f s\n", m->id, disk->name,
          to, p.format, format_size (disk->size, sz, sizeof sz),
          now_monotonic () - t0);
  return EXIT_OK;
}
