/* Changed-block tracking's decisions (incr_decide.h).  The order of the
 * checks is the order incremental.h documents: the event names the
 * first that fails. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/events.h"
#include "incr_decide.h"

static bool
verdict (struct incr_verdict *v, int event, const char *fmt, ...)
{
  va_list ap;

  v->event = event;
  va_start (ap, fmt);
  vsnprintf (v->msg, sizeof v->msg, fmt, ap);
  va_end (ap);
  return false;
}

/* The base's checkpoint is gone: was the backup a newer checkpoint of
 * ours names pruned (so the base is older than the last checkpoint), or
 * the checkpoint itself deleted? */
static bool
explain_missing (const struct incr_base_facts *f, struct incr_verdict *v)
{
  if (f->lost_backup && f->base)
    return verdict (v, EV_PREVIOUS_UNUSABLE,
                    "backup %s, made at checkpoint "
                    "%s, is no longer in the repository (pruned or "
                    "deleted); the newest backup left, %s, has no "
                    "checkpoint any more: full read",
                    f->lost_backup, f->lost_checkpoint, f->base->id);
  if (f->lost_backup)
    return verdict (v, EV_PREVIOUS_UNUSABLE,
                    "backup %s, made at checkpoint "
                    "%s, is no longer in the repository (pruned or "
                    "deleted): full read",
                    f->lost_backup, f->lost_checkpoint);
  if (f->base)
    return verdict (v, EV_CHECKPOINT_GONE,
                    "checkpoint %s of backup %s is "
                    "gone (deleted, or the VM was redefined or restored): "
                    "full read",
                    f->base->checkpoint, f->base->id);
  return verdict (v, EV_FULL_READ,
                  "first backup of this VM in this "
                  "repository: full read");
}

bool
incr_decide_base (const struct incr_base_facts *f, struct incr_verdict *v)
{
  const struct manifest *base = f->base;

  v->event = 0;
  v->msg[0] = '\0';
  if (base == NULL)
    return explain_missing (f, v);
  if (base->checkpoint == NULL)
    return verdict (v, EV_FULL_READ,
                    "the previous backup %s has no "
                    "checkpoint (the VM was shut off then, or had no qcow2 "
                    "disk): full read",
                    base->id);
  if (f->found == -1)
    return verdict (v, EV_CHECKPOINT_GONE, "%s: full read", f->error);
  if (f->found == 0)
    return explain_missing (f, v);
  if (f->cp_repository == NULL || strcmp (f->cp_repository, f->repo_id) != 0)
    return verdict (v, EV_OTHER_REPOSITORY,
                    "checkpoint %s was made for "
                    "repository %s, not this one (%s): full read",
                    f->cp_name,
                    f->cp_repository ? f->cp_repository : "(unknown)",
                    f->repo_id);
  if (base->run && f->run && strcmp (base->run, f->run) != 0)
    return verdict (v, EV_VM_RESTARTED,
                    "the VM was restarted or migrated "
                    "since backup %s (qemu process %s, now %s): its dirty "
                    "bitmaps may have missed writes: full read",
                    base->id, base->run, f->run);
  return true;
}

bool
incr_decide_disk (const struct incr_disk_facts *f, const char *since,
                  struct incr_verdict *v)
{
  const struct manifest_disk *bd = f->then;

  v->event = 0;
  v->msg[0] = '\0';
  if (strcmp (f->format, "qcow2") != 0)
    return verdict (v, EV_FULL_READ,
                    "disk %s is %s, which keeps no dirty "
                    "bitmap: read whole",
                    f->target, f->format[0] ? f->format : "raw");
  if (since == NULL)
    return false; /* incr_decide_base said why */
  if (bd == NULL)
    return verdict (v, EV_DISK_CHANGED,
                    "disk %s was added since backup %s: "
                    "read whole",
                    f->target, f->base_id);
  if (!f->in_checkpoint)
    return verdict (v, EV_DISK_CHANGED,
                    "disk %s has no bitmap in checkpoint "
                    "%s (added since): read whole",
                    f->target, since);
  if (bd->image == NULL || f->image == NULL
      || strcmp (bd->image, f->image) != 0)
    return verdict (v, EV_DISK_CHANGED,
                    "disk %s is not the image file it "
                    "was at backup %s (%s, then %s): its dirty bitmap is not "
                    "trusted: read whole",
                    f->target, f->base_id, f->image ? f->image : "unknown",
                    bd->image ? bd->image : "unknown");
  return true;
}

bool
incr_decide_bitmap (const char *target, const char *since, int state,
                    const char *error, bool base_ran, bool *broken,
                    struct incr_verdict *v)
{
  v->event = 0;
  v->msg[0] = '\0';
  if (state == -1)
    return verdict (v, EV_BITMAP_BROKEN, "disk %s: %s: read whole", target,
                    error);
  if (state != BITMAP_OK)
    *broken = true;
  /* qemu writes a bitmap into the image when it stops cleanly; one made
   * while the VM ran and then lost with qemu is missing, one loaded from
   * the image is left flagged in-use. */
  if (state == BITMAP_MISSING && base_ran)
    return verdict (v, EV_BITMAP_BROKEN,
                    "disk %s: bitmap %s was never saved "
                    "in the image (the VM crashed or was killed): read whole",
                    target, since);
  if (state == BITMAP_MISSING)
    return verdict (v, EV_CHECKPOINT_GONE,
                    "disk %s: the image has no bitmap "
                    "%s any more: read whole",
                    target, since);
  if (state == BITMAP_INCONSISTENT)
    return verdict (v, EV_BITMAP_BROKEN,
                    "disk %s: bitmap %s was not saved "
                    "(the VM crashed or was killed): read whole",
                    target, since);
  return true;
}
