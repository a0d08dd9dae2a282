/* Deciding where a restore writes (restore_plan.h). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "restore_plan.h"

int
restore_check_conflict (const char *name, bool exists, const char *same_uuid,
                        const struct restore_vm_opts *o)
{
  if (!exists && !o->as && same_uuid) {
    set_error (0, "VM %s has this backup's UUID: restore with --as NAME",
               same_uuid);
    return -1;
  }
  if (exists && !o->replace) {
    set_error (0,
               "VM %s exists: restore with --replace to turn it off and "
               "overwrite it, or with --as NAME beside it",
               name);
    return -1;
  }
  return 0;
}

static const struct vm_disk *
find_disk (const struct domain_info *info, const char *target)
{
  for (size_t i = 0; i < info->disks.len; i++)
    if (strcmp (info->disks.ptr[i].target, target) == 0)
      return &info->disks.ptr[i];
  return NULL;
}

/* Where a disk goes: its own path; under --storage DIR its file name
 * there; with --as NAME a new file name NAME-TARGET.EXT. */
static char *
disk_path (const struct restore_vm_opts *o, const struct vm_disk *d,
           const struct manifest_disk *md)
{
  CLEANUP_FREE char *copy = strdup (d->source);
  const char *dir, *base;
  char *p = NULL;

  if (copy == NULL)
    return NULL;
  if (!o->as && !o->storage)
    return strdup (d->source);
  dir = o->storage ? o->storage : dirname (copy);
  if (o->as) {
    if (asprintf (&p, "%s/%s-%s.%s", dir, o->as, d->target,
                  strcmp (md->format, "qcow2") == 0 ? "qcow2" : "img")
        == -1)
      p = NULL;
  }
  else {
    CLEANUP_FREE char *copy2 = strdup (d->source);
    base = copy2 ? basename (copy2) : "disk";
    if (asprintf (&p, "%s/%s", dir, base) == -1)
      p = NULL;
  }
  return p;
}

/* The domain XML names where a disk goes (its path, or with --storage
 * its file name): a path with . or .. components is refused even under
 * --storage, whose copy would take its last component. */
static int
source_check (const struct vm_disk *d)
{
  CLEANUP_FREE char *what = NULL;
  const char *base;

  if (asprintf (&what, "disk %s:", d->target) == -1) {
    what = NULL;
    set_error (ENOMEM, "restore plan");
    return -1;
  }
  if (strcmp (d->type, "file") == 0 || strcmp (d->type, "block") == 0)
    return restore_path_check (what, d->source);
  /* A network disk copied under --storage takes its last part. */
  base = strrchr (d->source, '/');
  base = base ? base + 1 : d->source;
  if (strcmp (base, ".") == 0 || strcmp (base, "..") == 0) {
    set_error (0, "%s %s: a path with . or .. components", what, d->source);
    return -1;
  }
  return 0;
}

static bool
owned_by (const struct domain_info *existing, const char *path)
{
  for (size_t i = 0; existing && i < existing->disks.len; i++)
    if (strcmp (existing->disks.ptr[i].source, path) == 0)
      return true;
  return false;
}

/* A disk that was not a file, restored where it was: only a block
 * device, written in place (restore_block.h); a copy needs --storage. */
static int
plan_device (const struct restore_plan *plan, const struct vm_disk *d,
             const struct domain_info *existing,
             const struct restore_vm_opts *o,
             const struct restore_probe *probe, struct planned_disk *pd)
{
  if (o->as) {
    set_error (0,
               "disk %s is the %s %s: give --storage DIR for the copy's "
               "image",
               d->target,
               strcmp (d->type, "block") == 0 ? "block device" : d->type,
               d->source);
    return -1;
  }
  if (strcmp (d->type, "block") != 0) {
    set_error (0,
               "disk %s was a %s disk (%s): restore it as a file with "
               "--storage DIR",
               d->target, d->type, d->source);
    return -1;
  }
  if (existing && !owned_by (existing, d->source)) {
    set_error (0,
               "disk %s: %s is not a disk of the VM being replaced "
               "(use --storage DIR)",
               d->target, d->source);
    return -1;
  }
  if (probe->check_block (probe->opaque, plan->name, d->target, d->source,
                          pd->md)
      == -1)
    return -1;
  pd->in_place = true;
  pd->path = strdup (d->source);
  if (pd->path == NULL) {
    set_error (ENOMEM, "restore plan");
    return -1;
  }
  return 0;
}

static int
plan_nvram (struct restore_plan *plan, const struct domain_info *info,
            const struct domain_info *existing,
            const struct restore_vm_opts *o, const struct restore_probe *probe)
{
  CLEANUP_FREE char *copy = strdup (info->nvram);
  const char *dir = o->storage ? o->storage
    : copy                     ? dirname (copy)
                               : "/var/lib/libvirt/qemu/nvram";

  /* Its directory is kept even under a new name: the domain XML's. */
  if (!o->storage && restore_path_check ("NVRAM", info->nvram) == -1)
    return -1;
  if (!o->as && !o->storage)
    plan->nvram = strdup (info->nvram);
  else if (asprintf (&plan->nvram, "%s/%s_VARS.fd", dir, plan->name) == -1)
    plan->nvram = NULL;
  if (plan->nvram == NULL) {
    set_error (ENOMEM, "restore plan");
    return -1;
  }
  if (probe->exists (probe->opaque, plan->nvram)
      && !(existing && existing->nvram
           && strcmp (existing->nvram, plan->nvram) == 0)) {
    set_error (0,
               "NVRAM %s already exists and is not the NVRAM of the VM "
               "being replaced (use --as NAME or --storage DIR)",
               plan->nvram);
    return -1;
  }
  return 0;
}

int
restore_plan_make (const struct manifest *m, const struct domain_info *info,
                   const struct domain_info *existing,
                   const struct restore_vm_opts *o,
                   const struct restore_probe *probe,
                   struct restore_plan *plan)
{
  memset (plan, 0, sizeof *plan);
  plan->name = o->as ? o->as : info->name;
  /* The name becomes part of file names (NVRAM under --storage). */
  if (strchr (plan->name, '/')) {
    set_error (0, "VM name %s has a /", plan->name);
    return -1;
  }
  plan->disks = calloc (m->disks.len + 1, sizeof *plan->disks);
  if (plan->disks == NULL) {
    set_error (ENOMEM, "restore plan");
    return -1;
  }
  /* The kept files first: a forged line is refused before any disk is
   * looked at. */
  if (restore_plan_files (m, info, plan) == -1)
    return -1;
  for (size_t i = 0; i < m->disks.len; i++) {
    const struct manifest_disk *md = &m->disks.ptr[i];
    const struct vm_disk *d;
    struct planned_disk *pd;

    if (strchr (md->name, '@'))
      continue; /* an internal snapshot's state */
    d = find_disk (info, md->name);
    if (d == NULL) {
      set_error (0, "disk %s is not in the backed-up domain XML", md->name);
      return -1;
    }
    pd = &plan->disks[plan->ndisks++];
    pd->md = md;
    if (source_check (d) == -1)
      return -1;
    if (strcmp (d->type, "file") != 0 && !o->storage) {
      if (plan_device (plan, d, existing, o, probe, pd) == -1)
        return -1;
      continue;
    }
    pd->path = disk_path (o, d, md);
    pd->keep_source = d->from_volume && !o->as && !o->storage;
    if (pd->path == NULL
        || asprintf (&pd->staged, "%s.vmbackup-new", pd->path) == -1) {
      pd->staged = NULL;
      set_error (ENOMEM, "restore plan");
      return -1;
    }
    /* Nothing may be overwritten but the disks of the VM being
     * replaced. */
    if (probe->exists (probe->opaque, pd->path)
        && !owned_by (existing, pd->path)) {
      set_error (0,
                 "disk %s: %s already exists and is not a disk of the VM "
                 "being replaced (use --as NAME or --storage DIR)",
                 d->target, pd->path);
      return -1;
    }
  }
  if (info->nvram && plan_nvram (plan, info, existing, o, probe) == -1)
    return -1;
  return 0;
}

void
restore_plan_release (struct restore_plan *plan)
{
  for (size_t i = 0; i < plan->ndisks; i++) {
    free (plan->disks[i].path);
    free (plan->disks[i].staged);
  }
  free (plan->disks);
  free (plan->nvram);
  free (plan->boot);
  for (size_t i = 0; i < plan->ntpm; i++)
    free (plan->tpm[i].rel);
  free (plan->tpm);
  memset (plan, 0, sizeof *plan);
}
