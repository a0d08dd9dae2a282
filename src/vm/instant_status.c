/* restore --instant-status: what the run directories of instant
 * restores say (see instant.h). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "export/run_dir.h"
#include "instant.h"

/* "vm NAME" and "backup ID" from RUNDIR/state. */
static void
read_state (const char *rundir, struct instant_status *s)
{
  char path[4096], line[512];
  FILE *f;

  snprintf (path, sizeof path, "%s/state", rundir);
  f = fopen (path, "r");
  while (f && fgets (line, sizeof line, f)) {
    line[strcspn (line, "\n")] = '\0';
    if (strncmp (line, "vm ", 3) == 0)
      snprintf (s->vm, sizeof s->vm, "%s", line + 3);
    else if (strncmp (line, "backup ", 7) == 0)
      snprintf (s->backup, sizeof s->backup, "%s", line + 7);
  }
  if (f)
    fclose (f);
}

/* "TARGET COPIED TOTAL" lines from RUNDIR/progress. */
static void
read_progress (const char *rundir, struct instant_status *s)
{
  char path[4096], line[512];
  FILE *f;

  snprintf (path, sizeof path, "%s/progress", rundir);
  f = fopen (path, "r");
  while (f && s->ndisks < sizeof s->disks / sizeof s->disks[0]
         && fgets (line, sizeof line, f)) {
    struct instant_status_disk *d = &s->disks[s->ndisks];
    if (sscanf (line, "%31s %llu %llu", d->target, &d->copied, &d->total) == 3)
      s->ndisks++;
  }
  if (f)
    fclose (f);
}

void
instant_status_read (const char *rundir, struct instant_status *s)
{
  memset (s, 0, sizeof *s);
  read_state (rundir, s);
  read_progress (rundir, s);
  s->running = instant_keeper_running (rundir);
}

int
instant_status_list (void (*fn) (void *opaque, const struct instant_status *s),
                     void *opaque)
{
  char buf[4096], rundir[8192];
  const char *base = run_dir_base (buf, sizeof buf);
  DIR *d = opendir (base);
  struct dirent *de;

  if (d == NULL)
    return 0; /* nothing ever ran */
  while ((de = readdir (d))) {
    struct instant_status s = { 0 };

    if (strncmp (de->d_name, "instant-", 8) != 0)
      continue;
    snprintf (rundir, sizeof rundir, "%s/%s", base, de->d_name);
    instant_status_read (rundir, &s);
    if (s.vm[0] == '\0')
      snprintf (s.vm, sizeof s.vm, "%s", de->d_name + 8);
    fn (opaque, &s);
  }
  closedir (d);
  return 0;
}
