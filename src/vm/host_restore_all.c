/* vmbackup restore --all HOST-ID (host_config.h): a rebuilt host gets
 * its configuration back, then every VM it had, each from its own
 * newest backup at or before the host backup (so the VMs match the
 * networks, pools and secrets restored with it), in the order the host
 * listed them and in the state they were in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "host_config.h"
#include "host_document.h"
#include "host_private.h"
#include "restore.h"

/* Unreadable manifests are skipped here: verify names them. */
static void
skip_unreadable (void *opaque, const char *id, const char *msg)
{
  (void) opaque;
  (void) id;
  (void) msg;
}

/* The newest VM backup of vm at or before time, from all (oldest
 * first), or NULL. */
static const struct manifest *
newest_before (const manifest_vector *all, const char *vm, int64_t time)
{
  char name[NAME_MAX_LEN + 1];
  const struct manifest *best = NULL;

  if (backup_name_of (vm, name) == -1)
    return NULL;
  for (size_t i = 0; i < all->len; i++) {
    const struct manifest *b = all->ptr[i];
    if (strcmp (b->kind, "vm") == 0 && strcmp (b->name, name) == 0
        && b->time <= time)
      best = b;
  }
  return best;
}

static void
say (const struct host_restore_opts *o, const char *name, const char *outcome,
     const char *detail)
{
  if (o->report)
    o->report (o->report_opaque, "vm", name, outcome, detail);
}

/* One VM; 0 restored or kept, -1 failed. */
static int
restore_one (struct repo *repo, struct vm_host *h, const manifest_vector *all,
             const struct manifest *host, const struct host_vm *vm,
             const struct host_restore_opts *o,
             const struct restore_vm_opts *vo)
{
  const struct manifest *b = newest_before (all, vm->name, host->time);
  virDomainPtr dom = virDomainLookupByName (h->conn, vm->name);
  bool was_running = strcmp (vm->state, "running") == 0
    || strcmp (vm->state, "paused") == 0;
  struct restore_vm_opts one = *vo;
  char detail[600];

  if (dom && !o->replace) {
    virDomainFree (dom);
    say (o, vm->name, "kept", "the host has it (--replace restores it over)");
    return 0;
  }
  if (dom)
    virDomainFree (dom);
  if (b == NULL) {
    say (o, vm->name, "failed", "no backup of it at or before the host's");
    return -1;
  }
  snprintf (detail, sizeof detail, "from %s%s", b->id,
            was_running ? ", started" : "");
  if (o->dry_run) {
    say (o, vm->name, "restore", detail);
    return 0;
  }
  one.replace = o->replace;
  one.start = was_running;
  if (restore_vm (repo, b, &one) == -1) {
    say (o, vm->name, "failed", get_error ());
    return -1;
  }
  /* A paused VM is put back paused (its backup is of a running one). */
  if (strcmp (vm->state, "paused") == 0
      && (dom = virDomainLookupByName (h->conn, vm->name)) != NULL) {
    virDomainSuspend (dom);
    virDomainFree (dom);
  }
  say (o, vm->name, "restored", detail);
  return 0;
}

int
restore_host_all (struct repo *repo, struct vm_host *h,
                  const struct manifest *m, const struct host_restore_opts *o,
                  const struct restore_vm_opts *vo)
{
  struct host_doc doc = { 0 };
  manifest_vector all = empty_vector;
  unsigned failed = 0;
  int r;

  if (host_doc_load (repo, m, &doc) == -1)
    return -1;
  r = restore_host_config (repo, h, m, o);
  /* Refused before anything was changed: the VMs would find the wrong
   * networks and pools. */
  if (r == -2) {
    host_doc_free (&doc);
    return -1;
  }
  failed += r != 0;
  if (manifest_list (repo, NULL, &all, skip_unreadable, NULL) == -1) {
    host_doc_free (&doc);
    return -1;
  }
  for (size_t i = 0; i < doc.vms.len; i++) {
    bool excluded = false;
    for (size_t x = 0; x < o->nexclude; x++)
      excluded |= strcmp (o->exclude[x], doc.vms.ptr[i].name) == 0;
    if (excluded)
      say (o, doc.vms.ptr[i].name, "not restored", "--exclude");
    else
      failed += restore_one (repo, h, &all, m, &doc.vms.ptr[i], o, vo) != 0;
  }
  manifest_vector_free (&all);
  host_doc_free (&doc);
  if (failed) {
    set_error (0, "not everything was restored (see above and the events)");
    return -1;
  }
  return 0;
}
