/* Restore a whole VM: definition, disks, NVRAM, TPM state and snapshot
 * metadata, in stages so that nothing existing is touched until the new
 * VM's disks are written and checked:
 *
 *   1. write every disk (each chunk checked against its digest) beside
 *      its final path, as PATH.vmbackup-new;
 *   2. only then, with --replace, turn the existing VM off, undefine it
 *      with its snapshot metadata and NVRAM, and delete its disks; a
 *      disk that is a block device is written into it now (it cannot be
 *      written aside; restore_block.h);
 *   3. move the new disks into place, write NVRAM, define the VM, put
 *      back its TPM state and redefine its snapshots.
 *
 * A failure in stage 1 removes what it wrote and leaves the existing VM
 * running and unchanged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/units.h"
#include "repo/restore_file.h"
#include "virt/conn.h"
#include "virt/domain_edit.h"
#include "virt/domain_xml.h"
#include "virt/volumes.h"
#include "restore_block.h"
#include "restore_run.h"

/* Where disk pd is put: its final path, or under --instant its overlay
 * beside it (the copy is written at the final path later). */
static const char *
placed_path (const struct vm_restore *r, const struct planned_disk *pd)
{
  return r->o->instant ? restore_instant_overlay (r, pd->md->name) : pd->path;
}

/* After a failure: take back what we wrote.  Disks already moved into
 * place stay when they replaced a VM (the old one is gone; these are the
 * only copy on the host). */
static void
undo (struct vm_restore *r)
{
  for (size_t i = 0; i < r->plan.ndisks; i++) {
    if (r->plan.disks[i].written)
      unlink (r->plan.disks[i].staged);
    if (r->plan.disks[i].placed && !r->existing)
      unlink (placed_path (r, &r->plan.disks[i]));
  }
  if (r->nvram_written && !r->existing)
    unlink (r->plan.nvram);
  for (size_t i = 0; i < r->boot_created.len; i++)
    unlink (r->boot_created.ptr[i]);
  if (r->o->instant)
    restore_instant_undo (r);
  if (r->dom && !r->existing) {
    if (virDomainIsActive (r->dom) == 1)
      virDomainDestroy (r->dom);
    virDomainUndefineFlags (r->dom,
                            VIR_DOMAIN_UNDEFINE_NVRAM
                              | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
  }
}

/* Internal snapshots live inside the images the copy will become:
 * an instant restore's overlays have none to name. */
static void
instant_snapshots_note (struct vm_restore *r)
{
  for (size_t i = 0; i < r->m->files.len; i++)
    if (strncmp (r->m->files.ptr[i].role, "snapshot", 8) == 0) {
      vm_report_message (r->o->report, VM_REPORT_WARNING,
                         "the backup's snapshots are not restored by "
                         "--instant (restore in full to keep them)");
      return;
    }
}

/* Stage 2: the existing VM goes, with its metadata and disks. */
static int
remove_existing (struct vm_restore *r)
{
  char *xml;
  struct domain_info old;
  int active = virDomainIsActive (r->existing);

  xml = virDomainGetXMLDesc (r->existing, VIR_DOMAIN_XML_INACTIVE);
  if (xml == NULL || domain_xml_parse (xml, strlen (xml), &old) == -1) {
    free (xml);
    set_error (0, "read the existing VM's definition: %s", virt_error ());
    return -1;
  }
  free (xml);
  r->was_running = active == 1;
  if (active == 1 && virDomainDestroy (r->existing) == -1) {
    set_error (0, "turn off the existing VM: %s", virt_error ());
    domain_info_release (&old);
    return -1;
  }
  if (virDomainUndefineFlags (r->existing,
                              VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                                | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                                | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
                                | VIR_DOMAIN_UNDEFINE_NVRAM)
      == -1) {
    set_error (0, "undefine the existing VM: %s", virt_error ());
    domain_info_release (&old);
    return -1;
  }
  for (size_t i = 0; i < old.disks.len; i++) {
    const struct vm_disk *d = &old.disks.ptr[i];
    if (d->included && strcmp (d->type, "file") == 0)
      unlink (d->source);
  }
  emit (r, EV_RESTORE_REPLACED,
        "existing VM %s %sundefined, its disks "
        "deleted",
        r->name, active == 1 ? "turned off and " : "");
  domain_info_release (&old);
  return 0;
}

/* Stage 3: the new VM takes its place. */
static int
put_in_place (struct vm_restore *r)
{
  const struct manifest_file *nv = r->plan.nvram_file;
  struct disk_move *moves = calloc (r->plan.ndisks + 1, sizeof *moves);
  struct domain_rewrite rw = {
    .name = r->o->as,
    .new_identity = r->o->as != NULL,
    .disks = moves,
    .ndisks = 0,
    .nvram = r->plan.nvram,
  };
  CLEANUP_FREE char *xml = NULL;

  if (moves == NULL) {
    set_error (ENOMEM, "restore");
    return -1;
  }
  for (size_t i = 0; i < r->plan.ndisks; i++) {
    if (r->plan.disks[i].in_place)
      continue; /* the domain XML names it already */
    const char *dest = placed_path (r, &r->plan.disks[i]);
    if (!r->plan.disks[i].keep_source) {
      moves[rw.ndisks].target = r->plan.disks[i].md->name;
      if (r->o->instant)
        moves[rw.ndisks].nbd_socket
          = restore_instant_socket (r, r->plan.disks[i].md->name);
      moves[rw.ndisks++].path = dest;
    }
    if (rename (r->plan.disks[i].staged, dest) == -1) {
      set_error (errno, "move %s into place", dest);
      free (moves);
      return -1;
    }
    r->plan.disks[i].written = false;
    r->plan.disks[i].placed = true;
  }
  if (nv && r->plan.nvram) {
    if (restore_file_path (r->repo, nv, r->plan.nvram, 0600) == -1) {
      free (moves);
      return -1;
    }
    r->nvram_written = true;
  }
  xml = domain_xml_rewrite (r->xml, &rw);
  free (moves);
  if (xml == NULL)
    return -1;
  volumes_refresh (r->conn, &r->info);
  r->dom = virDomainDefineXML (r->conn, xml);
  if (r->dom == NULL) {
    set_error (0, "define VM %s: %s", r->name, virt_error ());
    return -1;
  }
  /* The VM starts with the host again, as it did; a copy beside it
   * (--as) does not: two of the same guest at boot would clash. */
  if (r->m->autostart && r->o->as == NULL
      && virDomainSetAutostart (r->dom, 1) == -1) {
    set_error (0, "set VM %s to start with the host: %s", r->name,
               virt_error ());
    return -1;
  }
  return 0;
}

/* lstat: a dangling symbolic link is something there too, which only
 * the replaced VM's own files may be. */
static bool
path_exists (void *opaque, const char *path)
{
  struct vm_restore *r = opaque;
  struct stat st;

  if (lstat (path, &st) == -1)
    return false;
  /* What an instant restore of this VM killed before it defined the VM
   * left: made again (restore_run.h). */
  return !(r->o->instant && restore_instant_leftover (r, path));
}

static int
block_ok (void *opaque, const char *vm, const char *target, const char *dev,
          const struct manifest_disk *md)
{
  struct vm_restore *r = opaque;

  return restore_block_check (r->conn, vm, target, dev, md);
}

/* Refuse to touch a VM that exists unless told to replace it; read the
 * definition of the one we replace, so the plan may reuse its files. */
static int
check_existing (struct vm_restore *r)
{
  virDomainPtr same_uuid = NULL;
  int ret;

  virResetLastError ();
  r->existing = virDomainLookupByName (r->conn, r->name);
  if (r->existing == NULL && !r->o->as && r->info.uuid)
    same_uuid = virDomainLookupByUUIDString (r->conn, r->info.uuid);
  ret = restore_check_conflict (r->name, r->existing != NULL,
                                same_uuid ? virDomainGetName (same_uuid)
                                          : NULL,
                                r->o);
  if (same_uuid)
    virDomainFree (same_uuid);
  if (ret == -1 || r->existing == NULL)
    return ret;
  {
    char *xml = virDomainGetXMLDesc (r->existing, VIR_DOMAIN_XML_INACTIVE);
    ret = xml ? domain_xml_parse (xml, strlen (xml), &r->existing_info) : -1;
    if (ret == 0)
      volumes_resolve (r->conn, &r->existing_info, false);
    free (xml);
    if (ret == -1) {
      set_error (0, "read VM %s's definition: %s", r->name, virt_error ());
      return -1;
    }
  }
  return 0;
}

static int
run (struct vm_restore *r)
{
  const struct manifest_file *xf = restore_find_file (r->m, "domain-xml");
  size_t len;

  if (xf == NULL) {
    set_error (0, "backup %s holds no domain XML", r->m->id);
    return -1;
  }
  if (restore_file_buffer (r->repo, xf, XML_MAX, &r->xml, &len) == -1
      || domain_xml_parse (r->xml, len, &r->info) == -1)
    return -1;
  /* A pool volume that exists is restored at its path, as a file or
   * device disk would be; the VM keeps naming it by pool and volume.
   * One missing from a running directory pool (a rebuilt host whose
   * pools restore --host defined again) is written where the pool
   * will find it. */
  volumes_resolve (r->conn, &r->info, true);
  r->name = r->o->as ? r->o->as : r->info.name;
  if (r->o->instant) {
    if (restore_instant_resume (r, &r->instant_resumed) == -1)
      return -1;
    if (r->instant_resumed)
      return 0;
  }
  if (check_existing (r) == -1)
    return -1;
  {
    struct restore_probe probe = { .exists = path_exists,
                                   .check_block = block_ok,
                                   .opaque = r };
    if (restore_plan_make (r->m, &r->info,
                           r->existing ? &r->existing_info : NULL, r->o,
                           &probe, &r->plan)
        == -1)
      return -1;
  }
  if (strcmp (r->m->consistency, "crash") == 0
      || (strcmp (r->m->consistency, "offline") == 0
          && r->m->downtime_ms > 0)) {
    vm_report_message (r->o->report, VM_REPORT_WARNING,
                       "backup %s is "
                       "%s-consistent: the guest may report an unclean "
                       "shutdown",
                       r->m->id, r->m->consistency);
    emit (r, EV_RESTORE_UNCLEAN,
          "backup is %s-consistent: the guest may "
          "report an unclean shutdown",
          r->m->consistency);
  }
  if ((r->o->instant ? restore_instant_stage (r) : restore_write_disks (r))
      == -1)
    return -1;
  if (r->existing && remove_existing (r) == -1)
    return -1;
  if (restore_write_devices (r) == -1)
    return -1;
  if (restore_boot_files (r->repo, r->plan.boot, r->plan.nboot, r->o->events,
                          &r->boot_created)
        == -1
      || put_in_place (r) == -1 || restore_tpm (r) == -1)
    return -1;
  if (r->o->instant)
    instant_snapshots_note (r);
  else if (restore_snapshots (r) == -1)
    return -1;
  if ((r->o->start || r->was_running || r->o->instant)
      && virDomainCreate (r->dom) == -1) {
    set_error (0, "start VM %s: %s", r->name, virt_error ());
    return -1;
  }
  if (r->o->instant) {
    if (restore_instant_go (r) == -1)
      return -1;
    emit (r, EV_INSTANT_RUNNING,
          "VM %s runs from backup %s; %zu disk%s copied in the background",
          r->name, r->m->id, r->nidisks, r->nidisks == 1 ? " is" : "s are");
  }
  return 0;
}

int
restore_vm (struct repo *repo, const struct manifest *m,
            const struct restore_vm_opts *o)
{
  struct vm_restore r = { .repo = repo, .m = m, .o = o, .instant_go = -1 };
  double t0 = now_monotonic ();
  int ret;

  r.conn = virt_connect (o->uri);
  if (r.conn == NULL)
    return -1;
  event_log_reset (o->events, o->as ? o->as : m->name, m->id);
  emit (&r, EV_RESTORE_STARTED, "restore of %s%s%s%s", m->id,
        o->as ? " as " : "", o->as ? o->as : "",
        o->replace         ? " (replacing)"
          : o->config_only ? " (config only)"
                           : "");
  ret = run (&r);
  if (ret == 0) {
    emit (&r, EV_RESTORE_FINISHED, "VM %s restored from %s", r.name, m->id);
    struct vm_restore_result res = {
      .backup = m->id,
      .vm = r.name,
      .ndisks = r.plan.ndisks,
      .config_only = o->config_only,
      .instant = o->instant != NULL,
      .resumed = r.instant_resumed,
      .running = r.instant_running,
      .seconds = now_monotonic () - t0,
    };
    if (o->report && o->report->ops && o->report->ops->restored)
      o->report->ops->restored (o->report->opaque, &res);
  }
  else {
    char saved[1024];
    snprintf (saved, sizeof saved, "%s", get_error ());
    undo (&r);
    emit (&r, EV_RESTORE_FAILED, "%s", saved);
    set_error (0, "%s", saved);
  }
  restore_plan_release (&r.plan);
  restore_instant_release (&r);
  for (size_t i = 0; i < r.boot_created.len; i++)
    free (r.boot_created.ptr[i]);
  path_vector_reset (&r.boot_created);
  free (r.xml);
  domain_info_release (&r.info);
  domain_info_release (&r.existing_info);
  if (r.existing)
    virDomainFree (r.existing);
  if (r.dom)
    virDomainFree (r.dom);
  virConnectClose (r.conn);
  return ret;
}
