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
#include "incr_decide.h"
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
    if (asprintf (&s, "block:%u:%u", major (st.st_rdev), minor (st.st_rdev))
        == -1)
      return NULL;
  }
  else if (asprintf (&s, "%llx:%llu", (unsigned long long) st.st_dev,
                     (unsigned long long) st.st_ino)
           == -1)
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

  emit (inc, EV_PREVIOUS_UNUSABLE,
        "backup %s cannot be read (%s): it is "
        "not used as a base",
        id, msg);
}

/* The newest readable backup of this VM, or NULL. */
static int
find_base (struct incremental *inc)
{
  manifest_vector v = empty_vector;

  if (manifest_list (inc->repo, inc->plan->dom.name, &v, on_unreadable, inc)
      == -1)
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

/* The newest backup one of our checkpoints names that is gone from the
 * repository: what explains a missing checkpoint (incr_decide.c). */
static void
find_lost (struct incremental *inc, vm_checkpoint_vector *ours,
           struct incr_base_facts *f)
{
  if (vm_checkpoints_of_repository (inc->dom, inc->repo->id, ours) == 0)
    for (size_t i = ours->len; i-- > 0 && f->lost_backup == NULL;)
      if (!backup_exists (inc->repo, ours->ptr[i].backup)) {
        f->lost_backup = ours->ptr[i].backup;
        f->lost_checkpoint = ours->ptr[i].name;
      }
}

/* The checkpoint every disk may read changes since, or NULL after the
 * event that says why none can. */
static char *
usable_checkpoint (struct incremental *inc, struct vm_checkpoint *cp)
{
  vm_checkpoint_vector ours = empty_vector;
  struct incr_base_facts f = { .base = inc->base,
                               .repo_id = inc->repo->id,
                               .run = inc->run };
  struct incr_verdict v;
  char *since = NULL;

  if (inc->base && inc->base->checkpoint) {
    f.found = vm_checkpoint_get (inc->dom, inc->base->checkpoint, cp);
    f.error = f.found == -1 ? get_error () : NULL;
    f.cp_name = f.found == 1 ? cp->name : NULL;
    f.cp_repository = f.found == 1 ? cp->repository : NULL;
  }
  if (inc->base == NULL || (inc->base->checkpoint && f.found == 0))
    find_lost (inc, &ours, &f);
  if (incr_decide_base (&f, &v))
    since = strdup (cp->name);
  else
    emit (inc, v.event, "%s", v.msg);
  vm_checkpoint_vector_free (&ours);
  return since;
}

/* Can disk i be read as what changed since `since`?  Emits why not. */
static bool
disk_can_be_incremental (struct incremental *inc, size_t i, const char *since,
                         const struct vm_checkpoint *cp)
{
  const struct vm_disk *d = &inc->plan->dom.disks.ptr[i];
  struct incr_disk *id = &inc->disks[i];
  char key[256];
  struct incr_disk_facts f = {
    .target = d->target,
    .format = d->format,
    .then = base_disk (inc->base, d->target),
    .base_id = inc->base ? inc->base->id : NULL,
    .image = id->image,
  };
  struct incr_verdict v;

  snprintf (key, sizeof key, " %s ", d->target);
  f.in_checkpoint = since && strstr (cp->bitmap_disks, key) != NULL;
  if (!incr_decide_disk (&f, since, &v))
    goto no;
  if (inc->plan->state == VIR_DOMAIN_SHUTOFF) {
    enum bitmap_state st;
    int r = image_bitmap_state (d->source, since, &st);
    if (!incr_decide_bitmap (d->target, since, r == -1 ? -1 : (int) st,
                             r == -1 ? get_error () : NULL,
                             inc->base->run != NULL, &inc->bitmaps_broken, &v))
      goto no;
  }
  if (index_reader_open (&id->prev, inc->repo, &f.then->index) == -1) {
    id->prev.fd = -1;
    emit (inc, EV_PREVIOUS_UNUSABLE,
          "disk %s: the index of backup %s is "
          "damaged (%s): read whole",
          d->target, inc->base->id, get_error ());
    return false;
  }
  return true;
no:
  if (v.event)
    emit (inc, v.event, "%s", v.msg);
  return false;
}

static void
report_removed_disks (struct incremental *inc)
{
  const struct domain_info *info = &inc->plan->dom;

  for (size_t k = 0; inc->base && k < inc->base->disks.len; k++) {
    const char *name = inc->base->disks.ptr[k].name;
    bool present = strchr (name, '@') != NULL; /* snapshot states */
    for (size_t i = 0; !present && i < info->disks.len; i++)
      present = info->disks.ptr[i].included
        && strcmp (info->disks.ptr[i].target, name) == 0;
    if (!present)
      emit (inc, EV_DISK_CHANGED,
            "disk %s of backup %s is no longer backed "
            "up (removed or excluded)",
            name, inc->base->id);
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
    if (disk_can_be_incremental (inc, i, since, &cp))
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
  emit (inc, EV_BITMAP_BROKEN,
        "libvirt cannot use the dirty bitmaps (%s): "
        "full read",
        why);
  for (size_t i = 0; i < inc->plan->dom.disks.len; i++)
    read_whole (&inc->disks[i]);
}

void
incremental_no_checkpoint (struct incremental *inc, const char *why)
{
  emit (inc, EV_FULL_READ,
        "no checkpoint can be made (%s): this backup "
        "goes on without one, and the next reads every disk whole",
        why);
  free (inc->new_xml);
  free (inc->new_name);
  free (inc->keep);
  inc->new_xml = inc->new_name = inc->keep = NULL;
}

void
incremental_disk_resized (struct incremental *inc, size_t i, uint64_t old_size,
                          uint64_t new_size)
{
  emit (inc, EV_DISK_CHANGED,
        "disk %s was resized since backup %s (%llu "
        "to %llu bytes): read whole",
        inc->plan->dom.disks.ptr[i].target, inc->base ? inc->base->id : "?",
        (unsigned long long) old_size, (unsigned long long) new_size);
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
    emit (inc, EV_CHECKPOINTS_DELETED,
          "deleted %zu checkpoint%s that no "
          "later backup needs%s%s",
          deleted, deleted == 1 ? "" : "s", inc->keep ? "; kept " : "",
          inc->keep ? inc->keep : "");
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
