/* Back up one libvirt VM: decide live or offline from its plan, take the
 * point-in-time copy (freeze or suspend, start the pull job, thaw or
 * resume at once), read every included disk through the NBD pipeline,
 * and keep its configuration. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/units.h"
#include "engine/backup_disk.h"
#include "nbd/extents.h"
#include "nbd/server.h"
#include "virt/conn.h"
#include "backup_run.h"
#include "host_private.h"

/* Why auto chose offline for a running VM, as the event that names it. */
static void
emit_offline_reason (struct vm_run *r)
{
  const struct plan_check *c = r->plan.checks;

  if (!c[CHECK_AGENT].ok)
    emit (r, r->plan.agent.answers ? EV_AGENT_NO_FREEZE : EV_AGENT_MISSING,
          "%s: offline backup", c[CHECK_AGENT].detail);
  else if (!c[CHECK_FREEZABLE].ok)
    emit (r, EV_FS_NOT_FREEZABLE, "%s: offline backup",
          c[CHECK_FREEZABLE].detail);
  else if (!c[CHECK_SCRATCH].ok)
    emit (r, EV_NO_SCRATCH, "%s: offline backup", c[CHECK_SCRATCH].detail);
}

/* "vda", or "vda@snap1" for an internal snapshot's disk state; the
 * string lives as long as r (freed with its manifest disks). */
static const char *
label_name (struct vm_run *r, const char *target, const char *snapshot)
{
  char *s;

  if (snapshot == NULL)
    return target;
  if (asprintf (&s, "%s@%s", target, snapshot) == -1
      || string_vector_append (&r->names, s) == -1)
    return target;
  return s;
}

/* Open the NBD export disk i is read from: the backup job's, or the
 * image itself through qemu-nbd (a shut-off VM, a snapshot's state),
 * with the dirty bitmap when the disk is read incrementally. */
static struct nbd_handle *
open_disk (struct vm_run *r, size_t i, const char *snapshot,
           struct nbd_server *srv, char **dirty_context)
{
  const struct vm_disk *d = &r->plan.dom.disks.ptr[i];
  const char *fmt = d->format[0] ? d->format : "raw";
  const char *since = snapshot ? NULL : r->inc.disks[i].since;
  struct nbd_handle *nbd;

  *dirty_context = NULL;
  if (r->job.active && snapshot == NULL) {
    if (since
        && (*dirty_context = backup_job_dirty_context (d->target)) == NULL)
      return NULL;
    return backup_job_connect (&r->job, d->target, *dirty_context);
  }
  if (strcmp (d->type, "volume") == 0) {
    set_error (0,
               "disk %s: storage volume %s not found (is its pool "
               "active?)",
               d->target, d->source);
    return NULL;
  }
  if (access (d->source, R_OK) == -1) {
    set_error (errno, "disk %s: %s", d->target, d->source);
    return NULL;
  }
  if (since) {
    if (asprintf (dirty_context, DIRTY_BITMAP_PREFIX "%s", since) == -1) {
      *dirty_context = NULL;
      return NULL;
    }
    if (nbd_server_start_dirty (srv, d->source, fmt, since) == -1) {
      error_prefix ("disk %s", d->target);
      return NULL;
    }
  }
  else if (nbd_server_start_snapshot (srv, d->source, fmt, true, 1, snapshot)
           == -1) {
    error_prefix ("disk %s%s%s", d->target, snapshot ? " snapshot " : "",
                  snapshot ? snapshot : "");
    return NULL;
  }
  nbd = nbd_server_connect (srv, true, *dirty_context);
  if (nbd == NULL)
    error_prefix ("disk %s", d->target);
  return nbd;
}

static int
backup_one_disk (struct vm_run *r, size_t i, const char *snapshot,
                 struct manifest_disk *md)
{
  const struct vm_disk *d = &r->plan.dom.disks.ptr[i];
  struct incr_disk *inc = snapshot ? NULL : &r->inc.disks[i];
  struct nbd_server srv = { .pid = -1 };
  struct nbd_handle *nbd;
  struct backup_disk_result res;
  const char *fmt = d->format[0] ? d->format : "raw";
  char *dirty_context = NULL;
  char label[128];
  int64_t size;
  int ret = -1;

  nbd = open_disk (r, i, snapshot, &srv, &dirty_context);
  if (nbd == NULL)
    goto out;
  size = nbd_get_size (nbd);
  if (inc && inc->since && size >= 0
      && (uint64_t) size != inc->prev.hdr.disk_size) {
    incremental_disk_resized (&r->inc, i, inc->prev.hdr.disk_size, size);
    free (dirty_context);
    dirty_context = NULL;
  }
  snprintf (label, sizeof label, "%s %s", r->plan.dom.name, d->target);
  vm_report_progress_begin (r->o->report, label);
  struct backup_disk_params p = {
    .repo = r->store.repo,
    .store = &r->store,
    .nbd = nbd,
    .name = d->target,
    .compression_level = r->o->level,
    .prev = inc && inc->since ? &inc->prev : NULL,
    .dirty_context = inc && inc->since ? dirty_context : NULL,
    .progress = vm_report_progress,
    .progress_opaque = (void *) r->o->report,
  };
  ret = backup_disk (&p, &res);
  vm_report_progress_end (r->o->report);
  nbd_shutdown (nbd, 0);
  nbd_close (nbd);
  if (ret == 0) {
    md->name = (char *) label_name (r, d->target, snapshot);
    md->format = (char *) fmt;
    md->source = d->source;
    md->size = res.size;
    md->index = res.index;
    md->stored_new = res.stored_new;
    md->bytes_read = res.bytes_read;
    md->incremental = p.prev != NULL;
    md->image = inc ? inc->image : NULL;
    if (md->incremental)
      emit (r, EV_INCREMENTAL,
            "disk %s: read %llu bytes changed since "
            "checkpoint %s; %llu bytes unchanged kept from backup %s",
            d->target, (unsigned long long) res.bytes_read, inc->since,
            (unsigned long long) res.bytes_unchanged, r->inc.base->id);
  }
out:
  nbd_server_stop (&srv);
  free (dirty_context);
  return ret;
}

/* The disk state of internal snapshots, read from inside the qcow2
 * images: without it a restored VM could list its snapshots but not
 * revert to them. */
static int
backup_snapshot_disks (struct vm_run *r)
{
  if (vm_snapshots_list (r->dom, &r->snaps) == -1
      || vm_checkpoints_list (r->dom, &r->checkpoints) == -1)
    return -1;
  for (size_t s = 0; s < r->snaps.len; s++) {
    const struct vm_snapshot *snap = &r->snaps.ptr[s];
    for (size_t i = 0; i < r->plan.dom.disks.len; i++) {
      const struct vm_disk *d = &r->plan.dom.disks.ptr[i];
      struct manifest_disk md = { 0 };
      char key[256];

      snprintf (key, sizeof key, " %s ", d->target);
      if (!d->included || strcmp (d->format, "qcow2") != 0
          || strstr (snap->internal_disks, key) == NULL)
        continue;
      if (backup_one_disk (r, i, snap->name, &md) == -1
          || manifest_disk_vector_append (&r->m.disks, md) == -1)
        return -1;
    }
  }
  return 0;
}

static int
run (struct vm_run *r)
{
  const struct domain_info *info = &r->plan.dom;
  bool live_vm = r->plan.state != VIR_DOMAIN_SHUTOFF;

  if (domain_included_disks (info) == 0) {
    set_error (0, "VM %s has no disk the host can back up", info->name);
    return -1;
  }
  if (strcmp (r->o->consistency, "auto") == 0)
    r->consistency = r->plan.live ? "application" : "offline";
  else
    r->consistency = r->o->consistency;
  if (strcmp (r->consistency, "application") == 0 && !r->plan.live) {
    set_error (0,
               "VM %s: a live application-consistent backup is not "
               "possible: %s",
               info->name, r->plan.mode_reason);
    return -1;
  }
  /* Crash consistency means a running guest: a shut-off or paused one
   * is simply offline. */
  if (strcmp (r->consistency, "crash") == 0
      && (!live_vm || r->plan.state == VIR_DOMAIN_PAUSED))
    r->consistency = "offline";
  emit (r, EV_BACKUP_STARTED, "%s backup of a %s VM", r->consistency,
        r->plan.state_name);
  if (!live_vm)
    emit (r, EV_SHUT_OFF, "VM is shut off: disks read directly");
  else if (r->plan.state == VIR_DOMAIN_PAUSED)
    emit (r, EV_PAUSED_KEPT, "VM is paused: it stays paused");
  else if (strcmp (r->consistency, "offline") == 0
           && strcmp (r->o->consistency, "auto") == 0)
    emit_offline_reason (r);
  else if (strcmp (r->consistency, "crash") == 0)
    emit (r, EV_CRASH_CONSISTENT,
          "live backup without freezing, as asked: "
          "the guest may report an unclean shutdown after a restore");
  if (store_begin (&r->store, r->store.repo) == -1
      || incremental_prepare (&r->inc, r->store.repo, r->dom, &r->plan,
                              r->m.id, r->o->events)
        == -1)
    return -1;
  r->m.run = r->inc.run;
  if (live_vm) {
    if (guard_start (&r->guard, r->uri, info->name) == -1
        || vm_run_start_job (r) == -1)
      return -1;
  }
  if (boot_keeper_start (&r->boot, &r->store, r->o->level, info->boot) == -1)
    return -1;
  for (size_t i = 0; i < info->disks.len; i++) {
    const struct vm_disk *d = &info->disks.ptr[i];
    struct manifest_disk md = { 0 };

    if (!d->included) {
      struct manifest_excluded x = { .target = d->target,
                                     .reason = (char *) d->reason };
      emit (r, EV_DISK_EXCLUDED,
            "disk %s excluded: %s; protect it with an "
            "in-guest backup",
            d->target, d->reason);
      if (manifest_excluded_vector_append (&r->m.excluded, x) == -1)
        return -1;
      continue;
    }
    if (backup_one_disk (r, i, NULL, &md) == -1
        || manifest_disk_vector_append (&r->m.disks, md) == -1)
      return -1;
  }
  backup_job_end (&r->job);
  guard_stage (&r->guard, GUARD_JOB_DONE);
  if (backup_snapshot_disks (r) == -1)
    return -1;
  if (vm_run_keep_config (r) == -1)
    return -1;
  /* The events so far travel with the backup. */
  return vm_run_add_file (r, "events", "events.jsonl",
                          r->o->events->lines.buf);
}

int
backup_vm (struct repo *repo, struct vm_host *host,
           const struct backup_vm_opts *o, const char *name)
{
  struct vm_run r = { .o = o, .uri = host->uri };
  char backup_name[NAME_MAX_LEN + 1];
  double t0 = now_monotonic ();
  int ret = -1;

  r.guard.fd = r.guard.pid = -1;
  r.store.repo = repo;
  r.dom = virt_lookup (host->conn, name);
  if (r.dom == NULL)
    return -1;
  if (vm_plan_make (r.dom, 5, &r.plan) == -1)
    goto out_dom;
  r.m.kind = "vm";
  r.m.time = time (NULL);
  r.m.chunk_size = repo->chunk_size;
  if (backup_name_of (r.plan.dom.name, backup_name) == -1)
    goto out;
  r.m.name = backup_name;
  if (manifest_reserve (repo, &r.m) == -1)
    goto out;
  event_log_reset (o->events, r.m.name, r.m.id);
  if (run (&r) == 0) {
    r.m.consistency = (char *) r.consistency;
    r.m.checkpoint = r.inc.keep;
    {
      int autostart = 0;
      r.m.autostart = virDomainGetAutostart (r.dom, &autostart) == 0
        && autostart;
    }
    r.m.finished = time (NULL);
    if (manifest_commit (repo, &r.m) == 0) {
      emit (&r, EV_BACKUP_FINISHED,
            "%s backup finished: %zu disk%s, %zu "
            "excluded, %lld ms downtime",
            r.consistency, r.m.disks.len, r.m.disks.len == 1 ? "" : "s",
            r.m.excluded.len, (long long) r.m.downtime_ms);
      if (o->report && o->report->ops && o->report->ops->backed_up)
        o->report->ops->backed_up (o->report->opaque, &r.m,
                                   now_monotonic () - t0);
      ret = 0;
    }
  }
  if (ret == -1 && r.m.id) {
    char saved[1024];
    snprintf (saved, sizeof saved, "%s", get_error ());
    emit (&r, EV_BACKUP_FAILED, "%s", saved);
    manifest_unreserve (repo, &r.m);
    set_error (0, "%s", saved);
  }
out:
  {
    char saved[1024];
    snprintf (saved, sizeof saved, "%s", get_error ());
    backup_job_end (&r.job);
    boot_keeper_finish (&r.boot); /* before the store it writes to ends */
    if (r.inc.disks)
      incremental_finish (&r.inc, ret == 0);
    guard_stop (&r.guard);
    if (r.store.begun)
      store_end (&r.store);
    set_error (0, "%s", saved);
  }
  manifest_disk_vector_reset (&r.m.disks);
  manifest_file_vector_reset (&r.m.files);
  manifest_excluded_vector_reset (&r.m.excluded);
  vm_snapshots_free (&r.snaps);
  vm_snapshots_free (&r.checkpoints);
  for (size_t i = 0; i < r.names.len; i++)
    free (r.names.ptr[i]);
  string_vector_reset (&r.names);
  if (r.inc.disks)
    incremental_release (&r.inc);
  free (r.m.id);
  vm_plan_release (&r.plan);
out_dom:
  virDomainFree (r.dom);
  return ret;
}
