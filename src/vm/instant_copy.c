/* The copy of one disk of an instant restore (see instant_copy.h), in
 * two stages while the VM runs on its overlay:
 *
 *  1. the fill (instant_fill.c): a restore of the one disk (paced
 *     under --bandwidth) writes the whole backup into a new image at
 *     the disk's final path;
 *  2. a shallow block copy (a mirror job of the overlay alone) into
 *     that image: only what the guest wrote since it started, and what
 *     it writes meanwhile, goes over; once it is in step, a pivot puts
 *     the VM on the image, which stands alone (it has no backing:
 *     libvirt keeps the one a reused image has).  The pivot rewrites
 *     the persistent definition too.
 *
 * Why not one full block copy, as before: QEMU's mirror reads the
 * export one buffer at a time, 1.65 times a full restore's time with
 * the guest idle and about twice beside a booting one (bench/README.md).
 *
 * What makes stage 2 safe: the image it writes into holds exactly what
 * the overlay's backing holds.  Only a fill that ended well starts it
 * (this keeper saw it, or an earlier one left its mark); a fill that
 * stopped goes on from its progress record (restore --resume).  A
 * shallow copy that stops is started again into the same image: the
 * mirror writes only what the overlay holds, so what it leaves is still
 * the backup's.
 *
 * The job is a transient one (libvirt refuses a copy of a persistent VM
 * otherwise): should the VM stop, it is gone and the next look starts
 * another. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "common/test_hooks.h"
#include "common/units.h"
#include "export/run_dir.h"
#include "virt/conn.h"
#include "virt/xml_util.h"
#include "instant_copy.h"

/* How long a disk whose copy ended early is left before another. */
#define RETRY_S 5.0
/* The copy's buffer when it is not throttled (see start_copy). */
#define COPY_BUF_SIZE (128ULL << 20)

void
instant_copy_init (struct instant_copy *c, const struct instant_disk *d)
{
  memset (c, 0, sizeof *c);
  c->d = d;
  c->fill.pid = -1;
  c->fill.output_fd = -1;
  c->started_at = -1e9;
  c->woken_at = -1e9;
}

void
instant_copy_stop (struct instant_copy *c)
{
  instant_fill_stop (&c->fill);
}

static int
start_copy (const struct instant_keeper_params *p, virDomainPtr dom,
            const struct instant_disk *d)
{
  struct strbuf xml = STRBUF_INIT;
  /* Unthrottled, a larger buffer than QEMU's default (16 MiB) keeps
   * more requests in flight when the guest wrote much.  With a limit,
   * the default: QEMU throttles per buffer, and one of 128 MiB would
   * copy a small disk in one burst. */
  virTypedParameter param = { .type = VIR_TYPED_PARAM_ULLONG };
  int r;

  if (p->io->bandwidth_mib > 0) {
    snprintf (param.field, sizeof param.field, "%s",
              VIR_DOMAIN_BLOCK_COPY_BANDWIDTH);
    param.value.ul = (unsigned long long) p->io->bandwidth_mib << 20;
  }
  else {
    snprintf (param.field, sizeof param.field, "%s",
              VIR_DOMAIN_BLOCK_COPY_BUF_SIZE);
    param.value.ul = COPY_BUF_SIZE;
  }
  strbuf_addstr (&xml, "<disk type='file'><source file='");
  xml_add_escaped (&xml, d->path);
  strbuf_addf (&xml, "'/><driver type='%s'/></disk>", d->format);
  r = virDomainBlockCopy (dom, d->target, xml.buf, &param, 1,
                          VIR_DOMAIN_BLOCK_COPY_SHALLOW
                            | VIR_DOMAIN_BLOCK_COPY_REUSE_EXT
                            | VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB);
  strbuf_release (&xml);
  if (r == -1) {
    set_error (0, "%s", virt_error ());
    return -1;
  }
  return 0;
}

/* The copy is in step: the VM goes on from the new image.  Refused
 * while QEMU has not said so yet (the next look tries again). */
static void
pivot (const struct instant_keeper_params *p, virDomainPtr dom,
       struct instant_copy *c)
{
  if (test_hook_instant_pivot_held ())
    return;
  if (virDomainBlockJobAbort (dom, c->d->target,
                              VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
      == -1)
    return;
  /* QEMU no longer has it open: what the guest wrote is in the copy. */
  unlink (c->d->overlay);
  event_emit (p->events, EV_INSTANT_DISK_LOCAL,
              "disk %s: the VM runs on its local copy %s", c->d->target,
              c->d->path);
}

/* An overlay an earlier version made at the final path: QEMU pulls the
 * backup into it (see instant.h). */
static int
start_pull (const struct instant_keeper_params *p, virDomainPtr dom,
            const struct instant_disk *d)
{
  if (virDomainBlockPull (dom, d->target, (unsigned long) p->io->bandwidth_mib,
                          0)
      == -1) {
    set_error (0, "%s", virt_error ());
    return -1;
  }
  return 0;
}

/* RUN/filled-TARGET: there once a fill of this instant restore ended
 * well, so that a keeper started again goes on with the shallow copy
 * instead of filling again (a fill writes the disk's path only when it
 * is whole; the mark says from which backup). */
static void
filled_mark_path (const struct instant_keeper_params *p,
                  const struct instant_disk *d, char *out, size_t len)
{
  snprintf (out, len, "%s/filled-%s", p->rundir, d->target);
}

/* The mark holds the backup's ID: an image filled from another backup
 * (the run directory of an instant restore given up, and the VM's
 * restored again from another) is not this one's. */
static bool
filled_before (const struct instant_keeper_params *p,
               const struct instant_disk *d)
{
  char mark[4200], *text = NULL;
  size_t len;
  bool same;

  filled_mark_path (p, d, mark, sizeof mark);
  if (read_file (mark, 1024, &text, &len) == -1)
    return false;
  same = strcmp (text, p->backup) == 0 && access (d->path, F_OK) == 0;
  free (text);
  return same;
}

static void
mark_filled (const struct instant_keeper_params *p,
             const struct instant_disk *d)
{
  char mark[4200];

  filled_mark_path (p, d, mark, sizeof mark);
  /* Without it, a keeper started again fills again: no error. */
  write_file_atomic (mark, p->backup, strlen (p->backup));
}

/* Start what is due for the disk: the fill, the shallow copy once it
 * is filled, or a legacy overlay's pull. */
static void
begin (const struct instant_keeper_params *p, virDomainPtr dom,
       struct instant_copy *c)
{
  virDomainBlockInfo bi;
  int r;

  c->started_at = now_monotonic ();
  if (c->d->path[0] && !c->filled && filled_before (p, c->d)
      && virDomainGetBlockInfo (dom, c->d->target, &bi, 0) == 0) {
    c->filled = true;
    c->total = c->copied = bi.capacity;
  }
  if (!c->d->path[0])
    r = start_pull (p, dom, c->d);
  else if (c->filled)
    r = start_copy (p, dom, c->d);
  else if (virDomainGetBlockInfo (dom, c->d->target, &bi, 0) == -1) {
    set_error (0, "its size: %s", virt_error ());
    r = -1;
  }
  else {
    c->total = bi.capacity;
    c->copied = 0;
    r = instant_fill_start (&c->fill, p, c->d);
  }
  if (r == -1) {
    event_emit (p->events, EV_INSTANT_COPY_RETRY,
                "disk %s: the copy could not start: %s (tried again in "
                "%.0f s)",
                c->d->target, get_error (), RETRY_S);
    return;
  }
  if (c->started_before)
    event_emit (p->events, EV_INSTANT_COPY_RETRY,
                "disk %s: the copy ended before it was done%s%s; started "
                "again",
                c->d->target, c->why[0] ? ": " : "", c->why);
  else
    event_emit (p->events, EV_INSTANT_COPY_STARTED,
                "disk %s: copying the backup into %s", c->d->target,
                c->d->path[0] ? c->d->path : "its overlay");
  c->started_before = true;
  c->why[0] = '\0';
}

static void
tend_fill (const struct instant_keeper_params *p, virDomainPtr dom,
           struct instant_copy *c)
{
  enum instant_fill_state state = instant_fill_poll (&c->fill, c->d,
                                                     p->qemu_uid, p->qemu_gid);

  if (c->fill.resumed[0]) {
    event_emit (p->events, EV_RESTORE_RESUMED, "%s", c->fill.resumed);
    c->fill.resumed[0] = '\0';
  }
  switch (state) {
    case FILL_RUNNING:
      c->copied = (unsigned long long) ((double) c->total * c->fill.percent
                                        / 100.0);
      return;
    case FILL_FAILED:
      snprintf (c->why, sizeof c->why, "%s", get_error ());
      c->started_at = now_monotonic ();
      return;
    case FILL_DONE:
      mark_filled (p, c->d);
      c->filled = true;
      c->copied = c->total;
      if (start_copy (p, dom, c->d) == -1) {
        event_emit (p->events, EV_INSTANT_COPY_RETRY,
                    "disk %s: the copy of what the guest wrote could not "
                    "start: %s (tried again in %.0f s)",
                    c->d->target, get_error (), RETRY_S);
        c->started_at = now_monotonic ();
        return;
      }
      event_emit (p->events, EV_INSTANT_WRITES_COPYING,
                  "disk %s: the backup is in %s; copying what the guest "
                  "wrote since it started",
                  c->d->target, c->d->path);
      return;
  }
}

/* QEMU's NBD client (7.2) connects again only when something reads
 * through it: after the export was restarted, an idle guest would leave
 * it off, the command resuming would wait for it in vain, and the
 * guest's first read would fail while it reconnects.  A block pull at
 * 1 MiB/s reads through it for us (what it puts in the overlay is the
 * backup's own data); it is stopped once QEMU is on the socket. */
static void
wake_qemu (virDomainPtr dom, struct instant_copy *c)
{
  if (now_monotonic () - c->woken_at < 1.0)
    return;
  c->woken_at = now_monotonic ();
  virDomainBlockPull (dom, c->d->target, 1, 0); /* an error: next look */
}

void
instant_copy_tend (const struct instant_keeper_params *p, virDomainPtr dom,
                   struct instant_copy *c)
{
  virDomainBlockJobInfo info;
  bool connected;
  int j;

  if (c->fill.pid > 0) {
    tend_fill (p, dom, c);
    return;
  }
  j = virDomainGetBlockJobInfo (dom, c->d->target, &info, 0);
  if (j == -1)
    return;
  /* A fill starts once QEMU is on the export again (wake_qemu): the
   * command resuming waits for that, and the guest's reads fail until
   * then. */
  connected = run_dir_socket_has_peer (c->d->socket);
  if (j == 1 && c->d->path[0] && info.type == VIR_DOMAIN_BLOCK_JOB_TYPE_PULL) {
    if (connected) /* a pull of ours, or of a keeper killed */
      virDomainBlockJobAbort (dom, c->d->target, 0);
    return;
  }
  if (j == 1) {
    if (info.type == VIR_DOMAIN_BLOCK_JOB_TYPE_COPY && c->filled
        && c->total >= info.end - info.cur)
      c->copied = c->total - (info.end - info.cur); /* the guest's writes */
    else {
      c->copied = info.cur;
      c->total = info.end;
    }
    if (info.type == VIR_DOMAIN_BLOCK_JOB_TYPE_COPY && info.end > 0
        && info.cur == info.end)
      pivot (p, dom, c);
    return;
  }
  if (c->d->path[0] && !c->filled && !connected) {
    wake_qemu (dom, c);
    return;
  }
  if (now_monotonic () - c->started_at < RETRY_S)
    return;
  begin (p, dom, c);
}
