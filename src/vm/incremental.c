/* Changed-block tracking for VM backups (see incremental.h).
 *
 * A disk is read incrementally only when every one of these holds;
 * otherwise it is read whole (still deduplicated against the
 * repository) and an event names the first that failed:
 *   - an earlier backup of this VM is in this repository and readable,
 *     and it recorded a checkpoint (1071, 1076);
 *   - that checkpoint still exists (1072) and was made for this
 *     repository (1077);
 *   - the VM runs in the same qemu process as at that backup, or was
 *     shut off then (1074);
 *   - the disk is qcow2, was in that backup, has a bitmap in that
 *     checkpoint, is the same image file (1071, 1075), and that
 *     backup's index of it is intact (1076);
 *   - shut off: the image's bitmap was saved cleanly (1072, 1073);
 *   - running: libvirt accepts the bitmaps when the job starts (1073);
 *   - the disk kept its size (1075). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/error.h"
#include "nbd/image_bitmap.h"
#include "virt/checkpoint.h"
#include "virt/conn.h"
#include "incremental.h"

#define emit(inc, ...) event_emit ((inc)->events, __VA_ARGS__)

/* "DEV:INO" of a file, "block:MAJ:MIN" of a device: a different image
 * at the same path (restored, copied in) gets a different identity. */
static char *
image_identity (const struct vm_disk *d)
{
  struct stat st;
  char *s;

  if (d->source == NULL || stat (d->source, &st) == -1)
    return NULL;
  if (S_ISBLK (st.st_mode)) {
    if (asprintf (&s, "block:%u:%u", major (st.st_rdev),
                  minor (st.st_rdev)) == -1)
      return NULL;
  }
  else if (asprintf (&s, "%llx:%llu", (unsigned long long) st.st_dev,
                     (unsigned long long) st.st_ino) == -1)
    return NULL;
  return s;
}

static const struct manifest_disk *
base_disk (const struct manifest *base, const char *target)
{
  for (size_t i = 0; base && i < base->disks.len; i++)
    if (strcmp (base->disks.ptr[i].name, target) == 0)
      return &base->disks.ptr[i];
  return NULL;
}

static void
on_unreadable (void *opaque, const char *id, const char *msg)
{
  struct incremental *inc = opaque;

  emit (inc, EV_PREVIOUS_UNUSABLE, "backup %s cannot be read (%s): it is "
        "not used as a base", id, msg);
}

/* The newest readable backup of this VM, or NULL. */
static int
find_base (struct incremental *inc)
{
  manifest_vector v = empty_vector;

  if (manifest_list (inc->repo, inc->plan->dom.name, &v, on_unreadable,
                     inc) == -1)
    return -1;
  for (size_t i = v.len; i-- > 0;)
    if (strcmp (v.ptr[i]->kind, "vm") == 0) {
      inc->base = v.ptr[i];
      v.ptr[i] = NULL;
      break;
    }
  manifest_vector_free (&v);
  return 0;
}

static bool
backup_exists (struct repo *repo, const char *id)
{
  struct manifest *m = id ? manifest_resolve (repo, id) : NULL;
  bool r = m != NULL;

  manifest_free (m);
  return r;
}

/* The base's checkpoint was not found: was the backup that a newer
 * checkpoint of ours names pruned (so the base is older than the last
 * checkpoint), or was the checkpoint itself deleted? */
static void
explain_missing (struct incremental *inc)
{
  vm_checkpoint_vector ours = empty_vector;
  const char *lost = NULL, *cp = NULL;

  if (vm_checkpoints_of_repository (inc->dom, inc->repo->id, &ours) == 0)
    for (size_t i = ours.len; i-- > 0 && lost == NULL;)
      if (!backup_exists (inc->repo, ours.ptr[i].backup)) {
        lost = ours.ptr[i].backup;
        cp = ours.ptr[i].name;
      }
  if (lost && inc->base)
    emit (inc, EV_PREVIOUS_UNUSABLE, "backup %s, made at checkpoint %s, is "
          "no longer in the repository (pruned or deleted); the newest "
          "backup left, %s, has no checkpoint any more: full read", lost, cp,
          inc->base->id);
  else if (lost)
    emit (inc, EV_PREVIOUS_UNUSABLE, "backup %s, made at checkpoint %s, is "
          "no longer in the repository (pruned or deleted): full read",
          lost, cp);
  else if (inc->base)
    emit (inc, EV_CHECKPOINT_GONE, "checkpoint %s of backup %s is gone "
          "(deleted, or the VM was redefined or restored): full read",
          inc->base->checkpoint, inc->base->id);
  else
    emit (inc, EV_FULL_READ, "first backup of this VM in this repository: "
          "full read");
  vm_checkpoint_vector_free (&ours);
}

/* The checkpoint every disk may read changes since, or NULL after the
 * event that says why none can. */
static char *
usable_checkpoint (struct incremental *inc, struct vm_checkpoint *cp)
{
  const struct manifest *base = inc->base;
  int r;

  if (base == NULL) {
    explain_missing (inc);
    return NULL;
  }
  if (base->checkpoint == NULL) {
    emit (inc, EV_FULL_READ, "the previous backup %s has no checkpoint "
          "(the VM was shut off then, or had no qcow2 disk): full read",
          base->id);
    return NULL;
  }
  r = vm_checkpoint_get (inc->dom, base->checkpoint, cp);
  if (r == -1) {
    emit (inc, EV_CHECKPOINT_GONE, "%s: full read", get_error ());
    return NULL;
  }
  if (r == 0) {
    explain_missing (inc);
    return NULL;
  }
  if (cp->repository == NULL || strcmp (cp->repository, inc->repo->id) != 0) {
    emit (inc, EV_OTHER_REPOSITORY, "checkpoint %s was made for repository "
          "%s, not this one (%s): full read", cp->name,
          cp->repository ? cp->repository : "(unknown)", inc->repo->id);
    return NULL;
  }
  if (base->run && inc->run && strcmp (base->run, inc->run) != 0) {
    emit (inc, EV_VM_RESTARTED, "the VM was restarted or migrated since "
          "backup %s (qemu process %s, now %s): its dirty bitmaps may have "
          "missed writes: full read", base->id, base->run, inc->run);
    return NULL;
  }
  return strdup (cp->name);
}

/* Can disk i be read as what changed since `since`?  Emits why not. */
static bool
disk_can_be_incremental (struct incremental *inc, size_t i, const char *since,
                         const struct vm_checkpoint *cp)
{
  const struct vm_disk *d = &inc->plan->dom.disks.ptr[i];
  struct incr_disk *id = &inc->disks[i];
  const struct manifest_disk *bd = base_disk (inc->base, d->target);
  char key[256];

  if (bd == NULL) {
    emit (inc, EV_DISK_CHANGED, "disk %s was added since backup %s: read "
          "whole", d->target, inc->base->id);
    return false;
  }
  snprintf (key, sizeof key, " %s ", d->target);
  if (strstr (cp->bitmap_disks, key) == NULL) {
    emit (inc, EV_DISK_CHANGED, "disk %s has no bitmap in checkpoint %s "
          "(added since): read whole", d->target, since);
    return false;
  }
  if (bd->image == NULL || id->image == NULL
      || strcmp (bd->image, id->image) != 0) {
    emit (inc, EV_DISK_CHANGED, "disk %s is not the image file it was at "
          "backup %s (%s, then %s): its dirty bitmap is not trusted: read "
          "whole", d->target, inc->base->id,
          id->image ? id->image : "unknown", bd->image ? bd->image : "unknown");
    return false;
  }
  if (inc->plan->state == VIR_DOMAIN_SHUTOFF) {
    enum bitmap_state st;
    if (image_bitmap_state (d->source, since, &st) == -1) {
      emit (inc, EV_BITMAP_BROKEN, "disk %s: %s: read whole", d->target,
            get_error ());
      return false;
    }
    if (st != BITMAP_OK)
      inc->bitmaps_broken = true;
    /* qemu writes a bitmap into the image when it stops cleanly; one
     * made while the VM ran and then lost with qemu is missing, one
     * loaded from the image is left flagged in-use. */
    if (st == BITMAP_MISSING && inc->base->run) {
      emit (inc, EV_BITMAP_BROKEN, "disk %s: bitmap %s was never saved in "
            "the image (the VM crashed or was killed): read whole",
            d->target, since);
      return false;
    }
    if (st == BITMAP_MISSING) {
      emit (inc, EV_CHECKPOINT_GONE, "disk %s: the image has no bitmap %s "
            "any more: read whole", d->target, since);
      return false;
    }
    if (st == BITMAP_INCONSISTENT) {
      emit (inc, EV_BITMAP_BROKEN, "disk %s: bitmap %s was not saved (the "
            "VM crashed or was killed): read whole", d->target, since);
      return false;
    }
  }
  if (index_reader_open (&id->prev, inc->repo, &bd->index) == -1) {
    id->prev.fd = -1;
    emit (inc, EV_PREVIOUS_UNUSABLE, "disk %s: the index of backup %s is "
          "damaged (%s): read whole", d->target, inc->base->id, get_error ());
    return false;
  }
  return true;
}

static void
report_removed_disks (struct incremental *inc)
{
  const struct domain_info *info = &inc->plan->dom;

  for (size_t k = 0; inc->base && k < inc->base->disks.len; k++) {
    const char *name = inc->base->disks.ptr[k].name;
    bool present = strchr (name, '@') != NULL;   /* snapshot states */
    for (size_t i = 0; !present && i < info->disks.len; i++)
      present = info->disks.ptr[i].included
        && strcmp (info->disks.ptr[i].target, name) == 0;
    if (!present)
      emit (inc, EV_DISK_CHANGED, "disk %s of backup %s is no longer backed "
            "up (removed or excluded)", name, inc->base->id);
  }
}

/* vmbackup.<repo>.<stamp>, or with a ".N" suffix while that name is
 * taken: by the checkpoint of a deleted backup that had the same ID (a
 * backup in the same second after it), which housekeeping removes
 * afterwards. */
static char *
free_checkpoint_name (struct incremental *inc, const char *backup_id)
{
  char *base = vm_checkpoint_name (inc->repo->id, backup_id), *name = base;

  for (int n = 1; name && n < 100; n++) {
    struct vm_checkpoint c;
    int r = vm_checkpoint_get (inc->dom, name, &c);
    if (r == 0)
      break;
    if (r == 1)
      vm_checkpoint_release (&c);
    if (name != base)
      free (name);
    if (asprintf (&name, "%s.%d", base, n) == -1)
      name = NULL;
  }
  if (name != base)
    free (base);
  return name;
}

int
incremental_prepare (struct incremental *inc, struct repo *repo,
                     virDomainPtr dom, const struct vm_plan *plan,
                     const char *backup_id, struct event_log *events)
{
  const struct domain_info *info = &plan->dom;
  size_t n = info->disks.len;
  bool running = plan->state != VIR_DOMAIN_SHUTOFF;
  bool any_bitmap = false;
  struct vm_checkpoint cp = { 0 };
  char *since = NULL;
  bool *with_bitmap;
  int ret = -1;

  memset (inc, 0, sizeof *inc);
  inc->repo = repo;
  inc->dom = dom;
  inc->plan = plan;
  inc->events = events;
  inc->disks = calloc (n ? n : 1, sizeof *inc->disks);
  with_bitmap = calloc (n ? n : 1, sizeof *with_bitmap);
  if (inc->disks == NULL || with_bitmap == NULL) {
    set_error (0, "out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    inc->disks[i].prev.fd = -1;
  if (running)
    inc->run = vm_run_identity (dom);
  if (find_base (inc) == -1)
    goto out;
  since = usable_checkpoint (inc, &cp);
  report_removed_disks (inc);
  for (size_t i = 0; i < n; i++) {
    const struct vm_disk *d = &info->disks.ptr[i];
    bool qcow2 = strcmp (d->format, "qcow2") == 0;

    if (!d->included)
      continue;
    inc->disks[i].image = image_identity (d);
    with_bitmap[i] = running && qcow2
      && (strcmp (d->type, "file") == 0 || strcmp (d->type, "block") == 0);
    any_bitmap |= with_bitmap[i];
    if (!qcow2) {
      emit (inc, EV_FULL_READ, "disk %s is %s, which keeps no dirty bitmap: "
            "read whole", d->target, d->format[0] ? d->format : "raw");
      continue;
    }
    if (since && disk_can_be_incremental (inc, i, since, &cp))
      inc->disks[i].since = strdup (since);
  }
  if (any_bitmap) {
    inc->new_name = free_checkpoint_name (inc, backup_id);
    inc->new_xml = inc->new_name
      ? vm_checkpoint_xml (inc->new_name, repo->id, backup_id, info,
                           with_bitmap)
      : NULL;
    if (inc->new_xml == NULL) {
      set_error (0, "out of memory");
      goto out;
    }
    inc->keep = strdup (inc->new_name);
  }
  else if (!running && since && !inc->bitmaps_broken)
    /* A shut-off VM gets no new checkpoint (libvirt makes them only for
     * running VMs), and needs none: nothing writes to its disks, so the
     * changes since `since` still cover everything since this backup.
     * A checkpoint with a broken bitmap is dropped instead. */
    inc->keep = strdup (since);
  ret = 0;
 out:
  free (since);
  free (with_bitmap);
  vm_checkpoint_release (&cp);
  return ret;
}

static void
read_whole (struct incr_disk *d)
{
  free (d->since);
  d->since = NULL;
  index_reader_close (&d->prev);
}

void
incremental_fall_back (struct incremental *inc, const char *why)
{
  emit (inc, EV_BITMAP_BROKEN, "libvirt cannot use the dirty bitmaps (%s): "
        "full read", why);
  for (size_t i = 0; i < inc->plan->dom.disks.len; i++)
    read_whole (&inc->disks[i]);
}

void
incremental_no_checkpoint (struct incremental *inc, const char *why)
{
  emit (inc, EV_FULL_READ, "no checkpoint can be made (%s): this backup "
        "goes on without one, and the next reads every disk whole", why);
  free (inc->new_xml);
  free (inc->new_name);
  free (inc->keep);
  inc->new_xml = inc->new_name = inc->keep = NULL;
}

void
incremental_disk_resized (struct incremental *inc, size_t i,
                          uint64_t old_size, uint64_t new_size)
{
  emit (inc, EV_DISK_CHANGED, "disk %s was resized since backup %s (%llu "
        "to %llu bytes): read whole", inc->plan->dom.disks.ptr[i].target,
        inc->base ? inc->base->id : "?", (unsigned long long) old_size,
        (unsigned long long) new_size);
  read_whole (&inc->disks[i]);
}

void
incremental_finish (struct incremental *inc, bool ok)
{
  vm_checkpoint_vector ours = empty_vector;
  size_t deleted = 0;

  if (!ok) {
    /* A checkpoint without a backup would only pile up bitmaps. */
    if (inc->created && vm_checkpoint_delete (inc->dom, inc->new_name) == -1)
      emit (inc, EV_CHECKPOINT_DELETE_FAILED, "%s", get_error ());
    return;
  }
  if (vm_checkpoints_of_repository (inc->dom, inc->repo->id, &ours) == -1) {
    emit (inc, EV_CHECKPOINT_DELETE_FAILED, "%s", get_error ());
    return;
  }
  for (size_t i = 0; i < ours.len; i++) {
    if (inc->keep && strcmp (ours.ptr[i].name, inc->keep) == 0)
      continue;
    if (vm_checkpoint_delete (inc->dom, ours.ptr[i].name) == -1)
      emit (inc, EV_CHECKPOINT_DELETE_FAILED, "%s", get_error ());
    else
      deleted++;
  }
  if (deleted)
    emit (inc, EV_CHECKPOINTS_DELETED, "deleted %zu checkpoint%s that no "
          "later backup needs%s%s", deleted, deleted == 1 ? "" : "s",
          inc->keep ? "; kept " : "", inc->keep ? inc->keep : "");
  vm_checkpoint_vector_free (&ours);
}

void
incremental_release (struct incremental *inc)
{
  for (size_t i = 0; inc->disks && i < inc->plan->dom.disks.len; i++) {
    read_whole (&inc->disks[i]);
    free (inc->disks[i].image);
  }
  free (inc->disks);
  free (inc->run);
  free (inc->new_name);
  free (inc->new_xml);
  free (inc->keep);
  manifest_free (inc->base);
  memset (inc, 0, sizeof *inc);
}
