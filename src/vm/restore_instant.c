/* restore --instant, the stages that differ from a full restore (see
 * instant.h and restore.c): instead of writing each disk, a qcow2
 * overlay backed by the backup's export; after the VM starts, the
 * keeper is told to copy; and a VM whose instant restore stopped is
 * resumed rather than refused. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/error.h"
#include "export/run_dir.h"
#include "virt/conn.h"
#include "instant.h"
#include "restore_run.h"

static int
make_dirs (const char *rundir)
{
  char parent[4096];
  char *slash;

  snprintf (parent, sizeof parent, "%s", rundir);
  slash = strrchr (parent, '/');
  if (slash)
    *slash = '\0';
  /* QEMU (another user) must reach the sockets: o+x on the way. */
  if ((mkdir (parent, 0711) == -1 && errno != EEXIST)
      || (mkdir (rundir, 0711) == -1 && errno != EEXIST)
      || chmod (rundir, 0711) == -1) {
    set_error (errno, "run directory %s", rundir);
    return -1;
  }
  return 0;
}

/* The disks to serve: targets of the plan (or, resuming, those the VM
 * still reads through a socket), each with its socket, key pipe, and
 * where its copy goes: path in format ("" for a legacy overlay, see
 * instant.h). */
static int
add_disk (struct vm_restore *r, const char *target, const char *path,
          const char *format)
{
  const struct instant_opts *io = r->o->instant;
  struct instant_disk *d;
  bool failed = false;

  d = realloc (r->idisks, (r->nidisks + 1) * sizeof *d);
  if (d == NULL) {
    set_error (ENOMEM, "instant restore");
    return -1;
  }
  r->idisks = d;
  d = &r->idisks[r->nidisks];
  memset (d, 0, sizeof *d);
  d->key_fd = -1;
  if ((size_t) snprintf (d->target, sizeof d->target, "%s", target)
        >= sizeof d->target
      || (size_t) snprintf (d->socket, sizeof d->socket, "%s/%s.sock",
                            r->instant_rundir, target)
        >= sizeof ((struct sockaddr_un *) 0)->sun_path) {
    set_error (ENAMETOOLONG, "disk %s: socket path", target);
    return -1;
  }
  if ((size_t) snprintf (d->path, sizeof d->path, "%s", path) >= sizeof d->path
      || (size_t) snprintf (d->overlay, sizeof d->overlay, "%s%s", path,
                            INSTANT_OVERLAY_SUFFIX)
        >= sizeof d->overlay) {
    set_error (ENAMETOOLONG, "disk %s: %s", target, path);
    return -1;
  }
  /* The copy keeps the backup's format, as a full restore does. */
  snprintf (d->format, sizeof d->format, "%s",
            strcmp (format, "raw") == 0 ? "raw" : "qcow2");
  r->nidisks++;
  if (io->key_pipe) {
    d->key_fd = io->key_pipe (io->opaque, &failed);
    if (failed) {
      set_error (0, "the repository's key");
      return -1;
    }
  }
  return 0;
}

static int
start_keeper (struct vm_restore *r)
{
  struct instant_keeper_params kp = {
    .vm = r->name,
    .backup = r->m->id,
    .uri = r->o->uri,
    .io = r->o->instant,
    .events = r->o->events,
    .disks = r->idisks,
    .ndisks = r->nidisks,
    .rundir = r->instant_rundir,
  };

  if (virt_qemu_owner (r->conn, &kp.qemu_uid, &kp.qemu_gid) == -1
      || make_dirs (r->instant_rundir) == -1)
    return -1;
  return instant_keeper_start (&kp, &r->instant_go);
}

int
restore_instant_stage (struct vm_restore *r)
{
  if (instant_run_dir (r->name, r->instant_rundir, sizeof r->instant_rundir)
      == -1)
    return -1;
  for (size_t i = 0; i < r->plan.ndisks; i++) {
    const struct planned_disk *pd = &r->plan.disks[i];
    const struct vm_disk *d = NULL;

    for (size_t j = 0; j < r->info.disks.len; j++)
      if (strcmp (r->info.disks.ptr[j].target, pd->md->name) == 0)
        d = &r->info.disks.ptr[j];
    if (pd->in_place || pd->keep_source || (d && d->luks_secret)) {
      set_error (0,
                 "disk %s is %s: --instant runs a VM on image files; "
                 "restore this one in full",
                 pd->md->name,
                 pd->in_place        ? "a block device"
                   : pd->keep_source ? "a storage pool volume"
                                     : "LUKS-encrypted");
      return -1;
    }
  }
  if (instant_keeper_running (r->instant_rundir)) {
    if (!r->o->replace) {
      set_error (0,
                 "an instant restore of VM %s is running (see 'vmbackup "
                 "restore --instant-status')",
                 r->name);
      return -1;
    }
    instant_keeper_stop (r->instant_rundir);
  }
  run_dir_remove (r->instant_rundir);
  for (size_t i = 0; i < r->plan.ndisks; i++)
    if (add_disk (r, r->plan.disks[i].md->name, r->plan.disks[i].path,
                  r->plan.disks[i].md->format)
        == -1)
      return -1;
  if (start_keeper (r) == -1)
    return -1;
  for (size_t i = 0; i < r->plan.ndisks; i++) {
    struct planned_disk *pd = &r->plan.disks[i];
    char backing[4200], size[32];
    char *argv[] = { "qemu-img", "create", "-q",  "-f", "qcow2",
                     "-u",       "-F",     "raw", "-b", backing,
                     pd->staged, size,     NULL };

    snprintf (backing, sizeof backing, "nbd+unix:///?socket=%s",
              r->idisks[i].socket);
    snprintf (size, sizeof size, "%" PRIu64, pd->md->size);
    if (restore_run_quiet (argv) == -1) {
      set_error (0, "disk %s: qemu-img could not create its overlay %s",
                 pd->md->name, pd->staged);
      return -1;
    }
    pd->written = true;
  }
  return 0;
}

static const struct instant_disk *
find_disk (const struct vm_restore *r, const char *target)
{
  for (size_t i = 0; i < r->nidisks; i++)
    if (strcmp (r->idisks[i].target, target) == 0)
      return &r->idisks[i];
  return NULL;
}

const char *
restore_instant_socket (const struct vm_restore *r, const char *target)
{
  const struct instant_disk *d = find_disk (r, target);

  return d ? d->socket : NULL;
}

const char *
restore_instant_overlay (const struct vm_restore *r, const char *target)
{
  const struct instant_disk *d = find_disk (r, target);

  return d ? d->overlay : NULL;
}

int
restore_instant_go (struct vm_restore *r)
{
  char answer[16] = "";
  size_t n = 0;
  ssize_t got = 1;

  /* The keeper answers once it no longer dies with us. */
  if (write (r->instant_go, "go\n", 3) == 3)
    while (n < sizeof answer - 1 && !memchr (answer, '\n', n)
           && (got = read (r->instant_go, answer + n, sizeof answer - 1 - n))
             > 0)
      n += got;
  if (strncmp (answer, "going\n", 6) != 0) {
    set_error (0, "the instant restore's background process died");
    return -1;
  }
  close (r->instant_go);
  r->instant_go = -1;
  return 0;
}

void
restore_instant_undo (struct vm_restore *r)
{
  if (r->instant_go >= 0) {
    close (r->instant_go); /* the keeper stops its exports and exits */
    r->instant_go = -1;
  }
  if (r->instant_rundir[0]) {
    instant_keeper_stop (r->instant_rundir);
    run_dir_remove (r->instant_rundir);
  }
}

void
restore_instant_release (struct vm_restore *r)
{
  for (size_t i = 0; i < r->nidisks; i++)
    if (r->idisks[i].key_fd >= 0)
      close (r->idisks[i].key_fd);
  free (r->idisks);
  r->idisks = NULL;
  r->nidisks = 0;
  if (r->instant_go >= 0)
    close (r->instant_go);
  r->instant_go = -1;
}

bool
restore_instant_leftover (const struct vm_restore *r, const char *path)
{
  unsigned char h[20];
  char backing[4200], want[4200], overlay[4200];
  uint64_t off;
  uint32_t len;
  int fd;
  bool ours = false;

  if (r->instant_rundir[0] == '\0'
      || instant_keeper_running (r->instant_rundir))
    return false;
  snprintf (want, sizeof want, "nbd+unix:///?socket=%s/", r->instant_rundir);
  snprintf (overlay, sizeof overlay, "%s%s", path, INSTANT_OVERLAY_SUFFIX);
  fd = open (overlay, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd == -1)
    return false;
  /* qcow2: magic "QFI\xfb", version, backing file offset (u64) and
   * length (u32), big-endian. */
  if (pread (fd, h, sizeof h, 0) == (ssize_t) sizeof h
      && memcmp (h, "QFI\xfb", 4) == 0) {
    off = 0;
    for (int i = 8; i < 16; i++)
      off = off << 8 | h[i];
    len = (uint32_t) h[16] << 24 | (uint32_t) h[17] << 16
      | (uint32_t) h[18] << 8 | h[19];
    if (len > strlen (want) && len < sizeof backing
        && pread (fd, backing, len, (off_t) off) == (ssize_t) len) {
      backing[len] = '\0';
      ours = strncmp (backing, want, strlen (want)) == 0;
    }
  }
  close (fd);
  return ours;
}

/* ---- resuming ---- */

/* How long QEMU has to connect again to a resumed export: its NBD
 * client retries with a backoff of up to 16 s. */
#define RECONNECT_S 60

/* Disks QEMU reads from their export again, or no longer needs it: a
 * shallow copy left running by a killed keeper reads only the overlay,
 * and the new keeper pivots it (the VM's XML then no longer names the
 * socket) without QEMU ever connecting again. */
static size_t
disks_served (const struct vm_restore *r, virDomainPtr dom)
{
  char *xml = virDomainIsActive (dom) == 1 ? virDomainGetXMLDesc (dom, 0)
                                           : NULL;
  size_t n = 0;

  for (size_t j = 0; j < r->nidisks; j++)
    n += run_dir_socket_has_peer (r->idisks[j].socket)
      || (xml && !strstr (xml, r->idisks[j].socket));
  free (xml);
  return n;
}

/* Until QEMU reads every disk again, the guest gets I/O errors: the
 * resume is done when it does.  A VM that was starting when the
 * command before us was killed can still fail to start (its QEMU
 * found no export to open) after we saw it active: one that is shut
 * off is started again, once. */
static int
wait_reconnected (struct vm_restore *r, virDomainPtr dom)
{
  bool restarted = false;

  for (int i = 0; i < RECONNECT_S * 10; i++) {
    if (disks_served (r, dom) == r->nidisks)
      return 0;
    if (i % 10 == 9 && !restarted && virDomainIsActive (dom) == 0) {
      restarted = true;
      if (virDomainCreate (dom) == -1) {
        set_error (0, "start VM %s: %s", r->name, virt_error ());
        return -1;
      }
    }
    sleep_ms (100);
  }
  set_error (0, "QEMU did not connect to the export again within %d s",
             RECONNECT_S);
  return -1;
}

/* The VM's XML, live if it runs. */
static char *
current_xml (virDomainPtr dom)
{
  return virDomainGetXMLDesc (dom, 0);
}

/* Where the copy of disk target goes: the path its overlay (named in
 * the VM's XML, live) is beside; "" for an overlay at the final path
 * itself, which an earlier version made (see instant.h). */
static const char *
final_path (const struct domain_info *live, const char *target, char *out,
            size_t len)
{
  size_t n = strlen (INSTANT_OVERLAY_SUFFIX), k;

  out[0] = '\0';
  for (size_t i = 0; i < live->disks.len; i++) {
    const char *src = live->disks.ptr[i].source;
    if (strcmp (live->disks.ptr[i].target, target) != 0 || src == NULL)
      continue;
    k = strlen (src);
    if (k > n && k - n < len
        && strcmp (src + k - n, INSTANT_OVERLAY_SUFFIX) == 0)
      snprintf (out, len, "%.*s", (int) (k - n), src);
  }
  return out;
}

int
restore_instant_resume (struct vm_restore *r, bool *resumed)
{
  struct domain_info live = { 0 };
  virDomainPtr dom;
  char *xml;
  int active;

  *resumed = false;
  if (instant_run_dir (r->name, r->instant_rundir, sizeof r->instant_rundir)
      == -1)
    return -1;
  virResetLastError ();
  dom = virDomainLookupByName (r->conn, r->name);
  if (dom == NULL)
    return 0;
  xml = current_xml (dom);
  if (xml == NULL || strstr (xml, r->instant_rundir) == NULL
      || r->o->replace) {
    free (xml);
    virDomainFree (dom);
    r->instant_rundir[0] = '\0';
    return 0; /* not an instant restore of ours: the usual checks */
  }
  *resumed = true;
  if (instant_keeper_running (r->instant_rundir)) {
    struct instant_status st;

    free (xml);
    virDomainFree (dom);
    /* The same command again (it had finished, or was killed once its
     * keeper was on its own): nothing to do, and no error. */
    instant_status_read (r->instant_rundir, &st);
    if (strcmp (st.backup, r->m->id) == 0) {
      r->instant_running = true;
      return 0;
    }
    set_error (0,
               "an instant restore of VM %s from %s is running (see "
               "'vmbackup restore --instant-status')",
               r->name, st.backup[0] ? st.backup : "another backup");
    return -1;
  }
  if (domain_xml_parse (xml, strlen (xml), &live) == -1) {
    free (xml);
    virDomainFree (dom);
    return -1;
  }
  for (size_t i = 0; i < r->m->disks.len; i++) {
    const struct manifest_disk *md = &r->m->disks.ptr[i];
    char sock[4200], path[4096];

    snprintf (sock, sizeof sock, "%s/%s.sock", r->instant_rundir, md->name);
    if (strchr (md->name, '@') == NULL && strstr (xml, sock)
        && add_disk (r, md->name,
                     final_path (&live, md->name, path, sizeof path),
                     md->format)
          == -1) {
      domain_info_release (&live);
      free (xml);
      virDomainFree (dom);
      return -1;
    }
  }
  domain_info_release (&live);
  free (xml);
  /* The VM is the user's now, whatever happens: never undone. */
  active = virDomainIsActive (dom);
  if (start_keeper (r) == 0 && active == 0 && virDomainCreate (dom) == -1)
    set_error (0, "start VM %s: %s", r->name, virt_error ());
  else if (r->instant_go >= 0 && restore_instant_go (r) == 0
           && wait_reconnected (r, dom) == 0) {
    emit (r, EV_INSTANT_RESUMED,
          "instant restore of VM %s from %s resumed: %zu disk%s still "
          "to copy",
          r->name, r->m->id, r->nidisks, r->nidisks == 1 ? "" : "s");
    virDomainFree (dom);
    return 0;
  }
  virDomainFree (dom);
  return -1;
}
