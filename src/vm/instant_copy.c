/* The copy of one disk of an instant restore (see instant_copy.h).
 *
 * Why a block copy and not a block pull: QEMU's block-stream copies
 * 512 KiB at a time, one read (through the export) then one write,
 * which ran at a quarter of a full restore's speed; a mirror job keeps
 * many requests in flight and writes a new image, which the pivot then
 * puts in the overlay's place.  The job is a transient one (libvirt
 * refuses a copy of a persistent VM otherwise): should the VM stop, it
 * is gone and the next look starts another; the pivot itself rewrites
 * the persistent definition too. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/units.h"
#include "virt/conn.h"
#include "virt/xml_util.h"
#include "instant_copy.h"
#include "restore_run.h"

/* How long a disk whose copy ended early is left before another. */
#define RETRY_S 5.0
/* The copy's buffer when it is not throttled (see start_copy). */
#define COPY_BUF_SIZE (128ULL << 20)

/* A new, empty image at the disk's final path for the copy to fill.
 * While the VM reads this disk through the export, what is at that
 * path is ours: the restore checked it when it began, and anything
 * there now is an earlier copy that stopped. */
static int
fresh_image (const struct instant_keeper_params *p, virDomainPtr dom,
             const struct instant_disk *d)
{
  virDomainBlockInfo bi;
  char size[32];
  char *argv[] = { "qemu-img",         "create",         "-q", "-f",
                   (char *) d->format, (char *) d->path, size, NULL };

  if (virDomainGetBlockInfo (dom, d->target, &bi, 0) == -1) {
    set_error (0, "its size: %s", virt_error ());
    return -1;
  }
  snprintf (size, sizeof size, "%llu", bi.capacity);
  if (unlink (d->path) == -1 && errno != ENOENT) {
    set_error (errno, "remove the copy that stopped, %s", d->path);
    return -1;
  }
  if (restore_run_quiet (argv) == -1) {
    set_error (0, "qemu-img could not create %s", d->path);
    return -1;
  }
  if (chown (d->path, p->qemu_uid, p->qemu_gid) == -1) {
    set_error (errno, "give %s to QEMU's user", d->path);
    return -1;
  }
  return 0;
}

static int
start_copy (const struct instant_keeper_params *p, virDomainPtr dom,
            const struct instant_disk *d)
{
  struct strbuf xml = STRBUF_INIT;
  /* Unthrottled, a larger buffer than QEMU's default (16 MiB) keeps
   * more reads of the export in flight: 16 GiB with 3 GiB of data took
   * 5.7 to 6.2 s rather than 6.1 to 6.6 s (bench/README.md).  With a
   * limit, the default: QEMU throttles per buffer, and one of 128 MiB
   * would copy a small disk in one burst. */
  virTypedParameter param = { .type = VIR_TYPED_PARAM_ULLONG };
  int r;

  if (fresh_image (p, dom, d) == -1)
    return -1;
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
                          VIR_DOMAIN_BLOCK_COPY_REUSE_EXT
                            | VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB);
  strbuf_release (&xml);
  if (r == -1) {
    set_error (0, "%s", virt_error ());
    unlink (d->path);
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

void
instant_copy_tend (const struct instant_keeper_params *p, virDomainPtr dom,
                   struct instant_copy *c)
{
  virDomainBlockJobInfo info;
  int j = virDomainGetBlockJobInfo (dom, c->d->target, &info, 0);

  if (j == 1) {
    c->copied = info.cur;
    c->total = info.end;
    if (info.type == VIR_DOMAIN_BLOCK_JOB_TYPE_COPY && info.end > 0
        && info.cur == info.end)
      pivot (p, dom, c);
    return;
  }
  if (j != 0 || now_monotonic () - c->started_at < RETRY_S)
    return;
  c->started_at = now_monotonic ();
  if ((c->d->path[0] ? start_copy (p, dom, c->d) : start_pull (p, dom, c->d))
      == -1) {
    event_emit (p->events, EV_INSTANT_COPY_RETRY,
                "disk %s: the copy could not start: %s (tried again in "
                "%.0f s)",
                c->d->target, get_error (), RETRY_S);
    return;
  }
  if (c->started_before)
    event_emit (p->events, EV_INSTANT_COPY_RETRY,
                "disk %s: the copy ended before it was done; started "
                "again",
                c->d->target);
  else
    event_emit (p->events, EV_INSTANT_COPY_STARTED,
                "disk %s: copying the backup into %s", c->d->target,
                c->d->path[0] ? c->d->path : "its overlay");
  c->started_before = true;
}
