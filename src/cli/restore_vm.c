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
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/units.h"
#include "engine/restore_disk.h"
#include "repo/restore_file.h"
#include "virt/conn.h"
#include "virt/domain_edit.h"
#include "virt/domain_xml.h"
#include "virt/volumes.h"
#include "cli.h"
#include "restore_block.h"
#include "restore_boot.h"
#include "restore_vm.h"

#define XML_MAX (16 << 20)
#define SWTPM_DIR "/var/lib/libvirt/swtpm"

struct planned_disk {
  const struct manifest_disk *md;
  char *path;                   /* final path */
  char *staged;                 /* PATH.vmbackup-new */
  bool written;                 /* staged exists */
  bool placed;                  /* moved to path */
  bool in_place;                /* the block device path, written where it
                                 * is once its VM is gone (restore_block.h) */
  bool keep_source;             /* its pool volume's file: the domain XML
                                 * names it already */
};

struct vm_restore {
  struct repo *repo;
  const struct manifest *m;
  const struct restore_vm_opts *o;
  virConnectPtr conn;
  struct domain_info info;      /* of the backed-up XML */
  char *xml;
  const char *name;             /* the restored VM's name */
  struct planned_disk *disks;
  size_t ndisks;
  char *nvram;                  /* where NVRAM goes, or NULL */
  bool nvram_written;
  virDomainPtr existing;        /* the VM we would replace */
  struct domain_info existing_info;
  bool was_running;             /* it ran: the restored VM runs too */
  virDomainPtr dom;             /* the VM we defined */
  path_vector boot_created;     /* boot files we put back */
};

/* Events of this operation go to the log the caller opened. */
#define emit(r, ...) event_emit ((r)->o->events, __VA_ARGS__)

static const struct manifest_file *
find_file (const struct manifest *m, const char *role)
{
  for (size_t i = 0; i < m->files.len; i++)
    if (strcmp (m->files.ptr[i].role, role) == 0)
      return &m->files.ptr[i];
  return NULL;
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
disk_path (struct vm_restore *r, const struct vm_disk *d,
           const struct manifest_disk *md)
{
  CLEANUP_FREE char *copy = strdup (d->source);
  const char *dir, *base;
  char *p = NULL;

  if (copy == NULL)
    return NULL;
  if (!r->o->as && !r->o->storage)
    return strdup (d->source);
  dir = r->o->storage ? r->o->storage : dirname (copy);
  if (r->o->as) {
    if (asprintf (&p, "%s/%s-%s.%s", dir, r->o->as, d->target,
                  strcmp (md->format, "qcow2") == 0 ? "qcow2" : "img") == -1)
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

static bool
owned_by_existing (const struct vm_restore *r, const char *path)
{
  for (size_t i = 0; r->existing && i < r->existing_info.disks.len; i++)
    if (strcmp (r->existing_info.disks.ptr[i].source, path) == 0)
      return true;
  return false;
}

/* A disk that was not a file, restored where it was: only a block
 * device, written in place (restore_block.h); a copy needs --storage. */
static int
plan_device (struct vm_restore *r, const struct vm_disk *d,
             struct planned_disk *pd)
{
  if (r->o->as) {
    set_error (0, "disk %s is the %s %s: give --storage DIR for the copy's "
               "image", d->target, strcmp (d->type, "block") == 0
               ? "block device" : d->type, d->source);
    return -1;
  }
  if (strcmp (d->type, "block") != 0) {
    set_error (0, "disk %s was a %s disk (%s): restore it as a file with "
               "--storage DIR", d->target, d->type, d->source);
    return -1;
  }
  if (r->existing && !owned_by_existing (r, d->source)) {
    set_error (0, "disk %s: %s is not a disk of the VM being replaced "
               "(use --storage DIR)", d->target, d->source);
    return -1;
  }
  if (restore_block_check (r->conn, r->name, d->target, d->source,
                           pd->md) == -1)
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
plan_disks (struct vm_restore *r)
{
  r->disks = calloc (r->m->disks.len, sizeof *r->disks);
  if (r->disks == NULL) {
    set_error (ENOMEM, "restore plan");
    return -1;
  }
  for (size_t i = 0; i < r->m->disks.len; i++) {
    const struct manifest_disk *md = &r->m->disks.ptr[i];
    const struct vm_disk *d;
    struct planned_disk *pd;

    if (strchr (md->name, '@'))
      continue;                 /* an internal snapshot's state */
    d = find_disk (&r->info, md->name);
    if (d == NULL) {
      set_error (0, "disk %s is not in the backed-up domain XML", md->name);
      return -1;
    }
    pd = &r->disks[r->ndisks++];
    pd->md = md;
    if (strcmp (d->type, "file") != 0 && !r->o->storage) {
      if (plan_device (r, d, pd) == -1)
        return -1;
      continue;
    }
    pd->path = disk_path (r, d, md);
    pd->keep_source = d->from_volume && !r->o->as && !r->o->storage;
    if (pd->path == NULL || asprintf (&pd->staged, "%s.vmbackup-new",
                                      pd->path) == -1) {
      set_error (ENOMEM, "restore plan");
      return -1;
    }
    /* Nothing may be overwritten but the disks of the VM being
     * replaced. */
    if (access (pd->path, F_OK) == 0 && !owned_by_existing (r, pd->path)) {
      set_error (0, "disk %s: %s already exists and is not a disk of the VM "
                 "being replaced (use --as NAME or --storage DIR)",
                 d->target, pd->path);
      return -1;
    }
  }
  if (r->info.nvram) {
    CLEANUP_FREE char *copy = strdup (r->info.nvram);
    const char *dir = r->o->storage ? r->o->storage
      : copy ? dirname (copy) : "/var/lib/libvirt/qemu/nvram";
    if (!r->o->as && !r->o->storage)
      r->nvram = strdup (r->info.nvram);
    else if (asprintf (&r->nvram, "%s/%s_VARS.fd", dir, r->name) == -1)
      r->nvram = NULL;
    if (r->nvram == NULL) {
      set_error (ENOMEM, "restore plan");
      return -1;
    }
    if (access (r->nvram, F_OK) == 0
        && !(r->existing && r->existing_info.nvram
             && strcmp (r->existing_info.nvram, r->nvram) == 0)) {
      set_error (0, "NVRAM %s already exists and is not the NVRAM of the VM "
                 "being replaced (use --as NAME or --storage DIR)", r->nvram);
      return -1;
    }
  }
  return 0;
}

static int
run_quiet (char *const argv[])
{
  pid_t pid = fork ();
  int status;

  if (pid == 0) {
    execvp (argv[0], argv);
    _exit (127);
  }
  if (pid == -1 || waitpid (pid, &status, 0) == -1)
    return -1;
  return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

static const struct manifest_disk *
find_state (const struct manifest *m, const char *target, const char *snap)
{
  char name[512];

  snprintf (name, sizeof name, "%s@%s", target, snap);
  for (size_t i = 0; i < m->disks.len; i++)
    if (strcmp (m->disks.ptr[i].name, name) == 0)
      return &m->disks.ptr[i];
  return NULL;
}

static int
restore_layer (struct vm_restore *r, const struct manifest_disk *md,
               const char *path, bool overwrite)
{
  struct progress prog;
  int ret;

  progress_init (&prog, md->name);
  struct restore_disk_params p = {
    .repo = r->repo, .disk = md, .path = path, .format = md->format,
    .overwrite = overwrite,
    .progress = progress_update, .progress_opaque = &prog,
  };
  ret = restore_disk (&p);
  progress_finish (&prog);
  return ret;
}

/* A qcow2 disk whose backup holds internal snapshots: write each
 * snapshot's state in order (parents first) and snapshot it, then the
 * current state on top, so reverting works on the restored VM. */
static int
write_with_snapshots (struct vm_restore *r, struct planned_disk *pd,
                      bool *done)
{
  char size[32];
  bool created = false;

  *done = false;
  for (size_t i = 0; i < r->m->files.len; i++) {
    const struct manifest_file *f = &r->m->files.ptr[i];
    const struct manifest_disk *state;

    if (strncmp (f->role, "snapshot", 8) != 0
        || (state = find_state (r->m, pd->md->name, f->path)) == NULL)
      continue;
    if (!created) {
      snprintf (size, sizeof size, "%llu", (unsigned long long) pd->md->size);
      char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", pd->staged,
                       size, NULL };
      if (run_quiet (argv) == -1) {
        set_error (0, "qemu-img create %s failed", pd->staged);
        return -1;
      }
      created = pd->written = true;
    }
    if (restore_layer (r, state, pd->staged, true) == -1)
      return -1;
    char *argv[] = { "qemu-img", "snapshot", "-q", "-c", f->path, pd->staged,
                     NULL };
    if (run_quiet (argv) == -1) {
      set_error (0, "disk %s: qemu-img snapshot -c %s failed", pd->md->name,
                 f->path);
      return -1;
    }
  }
  if (!created)
    return 0;
  *done = true;
  return restore_layer (r, pd->md, pd->staged, true);
}

/* Stage 1: every disk, written and checked, beside its final path. */
static int
write_disks (struct vm_restore *r)
{
  for (size_t i = 0; i < r->ndisks; i++) {
    struct planned_disk *pd = &r->disks[i];

    if (pd->in_place)
      continue;                 /* written once its VM is gone */
    unlink (pd->staged);        /* from an earlier killed restore */
    if (r->o->config_only) {
      char size[32];
      snprintf (size, sizeof size, "%llu", (unsigned long long) pd->md->size);
      char *argv[] = { "qemu-img", "create", "-q", "-f", pd->md->format,
                       pd->staged, size, NULL };
      if (run_quiet (argv) == -1) {
        set_error (0, "disk %s: qemu-img create %s failed", pd->md->name,
                   pd->staged);
        return -1;
      }
    }
    else {
      bool done = false;
      if (strcmp (pd->md->format, "qcow2") == 0
          && write_with_snapshots (r, pd, &done) == -1)
        return -1;
      if (!done && restore_layer (r, pd->md, pd->staged, false) == -1)
        return -1;
    }
    pd->written = true;
  }
  return 0;
}

/* After a failure: take back what we wrote.  Disks already moved into
 * place stay when they replaced a VM (the old one is gone; these are the
 * only copy on the host). */
static void
undo (struct vm_restore *r)
{
  for (size_t i = 0; i < r->ndisks; i++) {
    if (r->disks[i].written)
      unlink (r->disks[i].staged);
    if (r->disks[i].placed && !r->existing)
      unlink (r->disks[i].path);
  }
  if (r->nvram_written && !r->existing)
    unlink (r->nvram);
  for (size_t i = 0; i < r->boot_created.len; i++)
    unlink (r->boot_created.ptr[i]);
  if (r->dom && !r->existing) {
    virDomainUndefineFlags (r->dom, VIR_DOMAIN_UNDEFINE_NVRAM
                            | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
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
                              | VIR_DOMAIN_UNDEFINE_NVRAM) == -1) {
    set_error (0, "undefine the existing VM: %s", virt_error ());
    domain_info_release (&old);
    return -1;
  }
  for (size_t i = 0; i < old.disks.len; i++) {
    const struct vm_disk *d = &old.disks.ptr[i];
    if (d->included && strcmp (d->type, "file") == 0)
      unlink (d->source);
  }
  emit (r, EV_RESTORE_REPLACED, "existing VM %s %sundefined, its disks "
        "deleted", r->name, active == 1 ? "turned off and " : "");
  domain_info_release (&old);
  return 0;
}

/* Stage 2b: block devices, now that no VM uses them: every byte, zeros
 * included (the device holds the old data).  --config-only leaves them
 * as they are: they exist, large enough, for the in-guest restore. */
static int
write_devices (struct vm_restore *r)
{
  for (size_t i = 0; i < r->ndisks; i++) {
    struct planned_disk *pd = &r->disks[i];

    if (!pd->in_place || r->o->config_only)
      continue;
    if (restore_layer (r, pd->md, pd->path, true) == -1)
      return -1;
    emit (r, EV_RESTORE_DEVICE, "disk %s written into block device %s",
          pd->md->name, pd->path);
  }
  return 0;
}

/* Stage 3: the new VM takes its place. */
static int
put_in_place (struct vm_restore *r)
{
  const struct manifest_file *nv = find_file (r->m, "nvram");
  struct disk_move *moves = calloc (r->ndisks + 1, sizeof *moves);
  struct domain_rewrite rw = {
    .name = r->o->as, .new_identity = r->o->as != NULL, .disks = moves,
    .ndisks = 0, .nvram = r->nvram,
  };
  CLEANUP_FREE char *xml = NULL;

  if (moves == NULL) {
    set_error (ENOMEM, "restore");
    return -1;
  }
  for (size_t i = 0; i < r->ndisks; i++) {
    if (r->disks[i].in_place)
      continue;                 /* the domain XML names it already */
    if (!r->disks[i].keep_source) {
      moves[rw.ndisks].target = r->disks[i].md->name;
      moves[rw.ndisks++].path = r->disks[i].path;
    }
    if (rename (r->disks[i].staged, r->disks[i].path) == -1) {
      set_error (errno, "move %s into place", r->disks[i].path);
      free (moves);
      return -1;
    }
    r->disks[i].written = false;
    r->disks[i].placed = true;
  }
  if (nv && r->nvram) {
    if (restore_file_path (r->repo, nv, r->nvram, 0600) == -1) {
      free (moves);
      return -1;
    }
    r->nvram_written = true;
  }
  xml = domain_xml_rewrite (r->xml, &rw);
  free (moves);
  if (xml == NULL)
    return -1;
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

static int
restore_tpm (struct vm_restore *r)
{
  char uuid[VIR_UUID_STRING_BUFLEN], dir[PATH_MAX];

  if (!find_file (r->m, "tpm") || virDomainGetUUIDString (r->dom, uuid) == -1)
    return 0;
  for (size_t i = 0; i < r->m->files.len; i++) {
    const struct manifest_file *f = &r->m->files.ptr[i];
    CLEANUP_FREE char *copy = NULL, *path = NULL;
    const char *sub;

    if (strcmp (f->role, "tpm") != 0)
      continue;
    copy = strdup (f->path);
    /* .../swtpm/<uuid>/<tpm2|tpm1.2>/<file>: keep the last two parts. */
    sub = copy ? basename (dirname (copy)) : "tpm2";
    snprintf (dir, sizeof dir, "%s/%s", SWTPM_DIR, uuid);
    mkdir (SWTPM_DIR, 0711);
    mkdir (dir, 0711);
    snprintf (dir, sizeof dir, "%s/%s/%s", SWTPM_DIR, uuid, sub);
    mkdir (dir, 0700);
    free (copy);
    copy = strdup (f->path);
    if (copy == NULL || asprintf (&path, "%s/%s", dir, basename (copy)) == -1
        || restore_file_path (r->repo, f, path, 0600) == -1)
      return -1;
  }
  return 0;
}

static int
redefine_snapshots (struct vm_restore *r)
{
  for (size_t i = 0; i < r->m->files.len; i++) {
    const struct manifest_file *f = &r->m->files.ptr[i];
    bool current = strcmp (f->role, "snapshot-current") == 0;
    CLEANUP_FREE char *xml = NULL;
    virDomainSnapshotPtr snap;
    size_t len;

    if (!current && strcmp (f->role, "snapshot") != 0)
      continue;
    /* Under a new identity the snapshot's embedded domain (old UUID)
     * would be refused: the VM's own definition serves instead. */
    if (r->o->as) {
      fprintf (stderr, "vmbackup: warning: snapshot %s not redefined on a "
               "VM restored under a new name\n", f->path);
      continue;
    }
    if (restore_file_buffer (r->repo, f, XML_MAX, &xml, &len) == -1)
      return -1;
    /* Memory state is not in the backup: the snapshot comes back as the
     * disk state it holds, which reverting then restores. */
    {
      char *disk_only = snapshot_xml_disk_only (xml);
      if (disk_only == NULL)
        return -1;
      free (xml);
      xml = disk_only;
    }
    snap = virDomainSnapshotCreateXML
      (r->dom, xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
       | (current ? VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT : 0));
    if (snap == NULL) {
      set_error (0, "redefine snapshot %s: %s", f->path, virt_error ());
      return -1;
    }
    virDomainSnapshotFree (snap);
  }
  return 0;
}

static int
check_existing (struct vm_restore *r)
{
  virDomainPtr same_uuid = NULL;

  virResetLastError ();
  r->existing = virDomainLookupByName (r->conn, r->name);
  if (r->existing == NULL && !r->o->as && r->info.uuid)
    same_uuid = virDomainLookupByUUIDString (r->conn, r->info.uuid);
  if (same_uuid) {
    set_error (0, "VM %s has this backup's UUID: restore with --as NAME",
               virDomainGetName (same_uuid));
    virDomainFree (same_uuid);
    return -1;
  }
  if (r->existing && !r->o->replace) {
    set_error (0, "VM %s exists: restore with --replace to turn it off and "
               "overwrite it, or with --as NAME beside it", r->name);
    return -1;
  }
  if (r->existing) {
    char *xml = virDomainGetXMLDesc (r->existing, VIR_DOMAIN_XML_INACTIVE);
    int ret = xml ? domain_xml_parse (xml, strlen (xml), &r->existing_info)
      : -1;
    if (ret == 0)
      volumes_resolve (r->conn, &r->existing_info);
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
  const struct manifest_file *xf = find_file (r->m, "domain-xml");
  size_t len;

  if (xf == NULL) {
    set_error (0, "backup %s holds no domain XML", r->m->id);
    return -1;
  }
  if (restore_file_buffer (r->repo, xf, XML_MAX, &r->xml, &len) == -1
      || domain_xml_parse (r->xml, len, &r->info) == -1)
    return -1;
  /* A pool volume that exists is restored at its path, as a file or
   * device disk would be; the VM keeps naming it by pool and volume. */
  volumes_resolve (r->conn, &r->info);
  r->name = r->o->as ? r->o->as : r->info.name;
  if (check_existing (r) == -1 || plan_disks (r) == -1)
    return -1;
  if (strcmp (r->m->consistency, "crash") == 0
      || (strcmp (r->m->consistency, "offline") == 0 && r->m->downtime_ms > 0)) {
    fprintf (stderr, "vmbackup: warning: backup %s is %s-consistent: the "
             "guest may report an unclean shutdown\n", r->m->id,
             r->m->consistency);
    emit (r, EV_RESTORE_UNCLEAN, "backup is %s-consistent: the guest may "
          "report an unclean shutdown", r->m->consistency);
  }
  if (write_disks (r) == -1)
    return -1;
  if (r->existing && remove_existing (r) == -1)
    return -1;
  if (write_devices (r) == -1)
    return -1;
  if (restore_boot_files (r->repo, r->m, r->o->events,
                          &r->boot_created) == -1
      || put_in_place (r) == -1 || restore_tpm (r) == -1
      || redefine_snapshots (r) == -1)
    return -1;
  if ((r->o->start || r->was_running) && virDomainCreate (r->dom) == -1) {
    set_error (0, "start VM %s: %s", r->name, virt_error ());
    return -1;
  }
  return 0;
}

int
restore_vm (struct repo *repo, const struct manifest *m,
            const struct restore_vm_opts *o)
{
  struct vm_restore r = { .repo = repo, .m = m, .o = o };
  double t0 = now_monotonic ();
  int ret;

  r.conn = virt_connect (o->uri);
  if (r.conn == NULL)
    return -1;
  event_log_reset (o->events, o->as ? o->as : m->name, m->id);
  emit (&r, EV_RESTORE_STARTED, "restore of %s%s%s%s", m->id,
        o->as ? " as " : "", o->as ? o->as : "",
        o->replace ? " (replacing)" : o->config_only ? " (config only)" : "");
  ret = run (&r);
  if (ret == 0) {
    emit (&r, EV_RESTORE_FINISHED, "VM %s restored from %s", r.name, m->id);
    printf ("restored %s as VM %s: %zu disk%s%s in %.1f s\n", m->id, r.name,
            r.ndisks, r.ndisks == 1 ? "" : "s",
            o->config_only ? " (blank)" : "", now_monotonic () - t0);
  }
  else {
    char saved[1024];
    snprintf (saved, sizeof saved, "%s", get_error ());
    undo (&r);
    emit (&r, EV_RESTORE_FAILED, "%s", saved);
    set_error (0, "%s", saved);
  }
  for (size_t i = 0; i < r.ndisks; i++) {
    free (r.disks[i].path);
    free (r.disks[i].staged);
  }
  free (r.disks);
  free (r.nvram);
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
