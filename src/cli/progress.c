/* A one-line progress bar on stderr, only when stderr is a terminal
 * (logs and pipes stay clean) or $VMBACKUP_PROGRESS is 1 (a program
 * that runs us and reads the bar: an instant restore's keeper). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/units.h"
#include "cli.h"

#define REFRESH 0.25

void
progress_init (struct progress *p, const char *label)
{
  const char *force = getenv ("VMBACKUP_PROGRESS");

  p->label = label;
  p->enabled = isatty (STDERR_FILENO) || (force && strcmp (force, "1") == 0);
  p->start = now_monotonic ();
  p->last = 0;
  p->base = 0;
}

void
progress_update (void *opaque, uint64_t done, uint64_t total)
{
  struct progress *p = opaque;
  double now = now_monotonic (), elapsed = now - p->start, rate;
  char d[32], t[32], r[32], eta[32] = "--:--";

  if (!p->enabled || (now - p->last < REFRESH && done < total))
    return;
  if (p->last == 0) /* the first update: what was done before us */
    p->base = done;
  p->last = now;
  rate = elapsed > 0 && done > p->base ? (done - p->base) / elapsed : 0;
  if (rate > 0 && total > done) {
    unsigned long s = (total - done) / rate;
    snprintf (eta, sizeof eta, "%02lu:%02lu", s / 60, s % 60);
  }
  fprintf (stderr, "\r%s: %5.1f%% %s / %s  %s/s  ETA %s\033[K", p->label,
           total ? 100.0 * done / total : 100.0,
           format_size (done, d, sizeof d), format_size (total, t, sizeof t),
           format_size (rate, r, sizeof r), eta);
}

void
progress_finish (struct progress *p)
{
  if (p->enabled)
    fprintf (stderr, "\r\033[K");
}
