/* Printing what VM backups and restores report (report.h).  The text is
 * what users and tests have always seen: keep it as it is. */
#include <stdio.h>

#include "common/units.h"
#include "report.h"

static void
message (void *opaque, enum vm_report_level level, const char *msg)
{
  if (level == VM_REPORT_WARNING)
    cli_warning ("%s", msg);
  else
    cli_error ("%s", msg);
}

static void
progress_begin (void *opaque, const char *label)
{
  struct cli_report *cr = opaque;

  /* The label must outlive the caller's buffer. */
  snprintf (cr->label, sizeof cr->label, "%s", label);
  progress_init (&cr->prog, cr->label);
}

static void
progress (void *opaque, uint64_t done, uint64_t total)
{
  struct cli_report *cr = opaque;

  progress_update (&cr->prog, done, total);
}

static void
progress_end (void *opaque)
{
  struct cli_report *cr = opaque;

  progress_finish (&cr->prog);
}

static void
backed_up (void *opaque, const struct manifest *m, double seconds)
{
  char sz[32], nw[32], rd[32];
  uint64_t read = 0;
  size_t incr = 0;

  printf ("backup %s: %s, %s, %s new, %zu disk%s", m->id, m->consistency,
          format_size (manifest_logical_size (m), sz, sizeof sz),
          format_size (manifest_stored_new (m), nw, sizeof nw), m->disks.len,
          m->disks.len == 1 ? "" : "s");
  if (m->downtime_ms)
    printf (", downtime %lld ms", (long long) m->downtime_ms);
  for (size_t i = 0; i < m->disks.len; i++) {
    read += m->disks.ptr[i].bytes_read;
    incr += m->disks.ptr[i].incremental;
  }
  printf (", %s read", format_size (read, rd, sizeof rd));
  if (incr)
    printf (" (%zu incremental)", incr);
  printf (", %.1f s\n", seconds);
  for (size_t i = 0; i < m->excluded.len; i++)
    printf ("  disk %s excluded: %s; protect it with an in-guest backup\n",
            m->excluded.ptr[i].target, m->excluded.ptr[i].reason);
}

static void
restored (void *opaque, const struct vm_restore_result *r)
{
  if (r->running)
    printf ("the instant restore of %s as VM %s runs already: its disks are "
            "copied in the background (see 'vmbackup restore "
            "--instant-status')\n",
            r->backup, r->vm);
  else if (r->resumed)
    printf ("resumed the instant restore of %s as VM %s: it runs, and its "
            "disks are copied in the background (see 'vmbackup restore "
            "--instant-status')\n",
            r->backup, r->vm);
  else if (r->instant)
    printf ("VM %s runs from backup %s in %.1f s: %zu disk%s copied in the "
            "background (see 'vmbackup restore --instant-status')\n",
            r->vm, r->backup, r->seconds, r->ndisks,
            r->ndisks == 1 ? " is" : "s are");
  else
    printf ("restored %s as VM %s: %zu disk%s%s in %.1f s\n", r->backup, r->vm,
            r->ndisks, r->ndisks == 1 ? "" : "s",
            r->config_only ? " (blank)" : "", r->seconds);
}

static const struct vm_report_ops ops = {
  .message = message,
  .progress_begin = progress_begin,
  .progress = progress,
  .progress_end = progress_end,
  .backed_up = backed_up,
  .restored = restored,
};

void
cli_report_init (struct cli_report *cr)
{
  cr->rep.ops = &ops;
  cr->rep.opaque = cr;
  cr->prog.enabled = false;
}
