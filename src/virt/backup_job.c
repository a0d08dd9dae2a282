/* Pull-mode backup jobs (see backup_job.h). */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "conn.h"
#include "backup_job.h"

/* The socket directory must be writable by the user qemu runs as
 * (libvirt-qemu on Debian) and by nobody else. */
static int
make_socket_dir (struct backup_job *job)
{
  const char *tmp = getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp";
  struct group *g = getgrnam ("libvirt-qemu");

  if (asprintf (&job->dir, "%s/vmbackup-job-XXXXXX", tmp) == -1
      || mkdtemp (job->dir) == NULL) {
    set_error (errno, "create socket directory in %s", tmp);
    return -1;
  }
  if (g && (chown (job->dir, -1, g->gr_gid) == -1
            || chmod (job->dir, 0770) == -1)) {
    set_error (errno, "prepare %s for qemu", job->dir);
    return -1;
  }
  if (asprintf (&job->sock, "%s/nbd.sock", job->dir) == -1) {
    set_error (ENOMEM, "socket path");
    return -1;
  }
  return 0;
}

static void
xml_attr (struct strbuf *sb, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '&': strbuf_addstr (sb, "&amp;"); break;
    case '<': strbuf_addstr (sb, "&lt;"); break;
    case '\'': strbuf_addstr (sb, "&apos;"); break;
    case '"': strbuf_addstr (sb, "&quot;"); break;
    default: strbuf_add (sb, s, 1);
    }
  }
}

static char *
backup_xml (const struct backup_job *job, const struct domain_info *info)
{
  struct strbuf sb = STRBUF_INIT;

  strbuf_addstr (&sb, "<domainbackup mode='pull'><server transport='unix' "
                 "socket='");
  xml_attr (&sb, job->sock);
  strbuf_addstr (&sb, "'/><disks>");
  for (size_t i = 0; i < info->disks.len; i++) {
    const struct vm_disk *d = &info->disks.ptr[i];
    if (strcmp (d->device, "hostdev") == 0)
      continue;
    strbuf_addstr (&sb, "<disk name='");
    xml_attr (&sb, d->target);
    if (!d->included) {
      strbuf_addstr (&sb, "' backup='no'/>");
      continue;
    }
    if (strcmp (d->type, "file") != 0) {
      /* No directory beside a block device or pool volume: libvirt
       * keeps the scratch overlay in its own state directory. */
      strbuf_addstr (&sb, "' backup='yes'/>");
      continue;
    }
    strbuf_addstr (&sb, "' backup='yes' type='file'><scratch file='");
    /* Beside the disk, on its storage (DESIGN's live condition); the
     * PID keeps two backups of one VM from colliding. */
    {
      CLEANUP_FREE char *copy = strdup (d->source);
      strbuf_addf (&sb, "%s/.vmbackup-scratch-%s-%d.qcow2",
                   copy ? dirname (copy) : "/tmp", d->target, (int) getpid ());
    }
    strbuf_addstr (&sb, "'/></disk>");
  }
  strbuf_addstr (&sb, "</disks></domainbackup>");
  return strbuf_detach (&sb);
}

int
backup_job_begin (struct backup_job *job, virDomainPtr dom,
                  const struct domain_info *info)
{
  CLEANUP_FREE char *xml = NULL;

  memset (job, 0, sizeof *job);
  job->dom = dom;
  if (make_socket_dir (job) == -1)
    return -1;
  xml = backup_xml (job, info);
  if (virDomainBackupBegin (dom, xml, NULL, 0) == -1) {
    set_error (0, "VM %s: start backup job: %s", info->name, virt_error ());
    return -1;
  }
  job->active = true;
  return 0;
}

struct nbd_handle *
backup_job_connect (struct backup_job *job, const char *target)
{
  struct nbd_handle *h = nbd_create ();

  if (h == NULL) {
    set_error (0, "libnbd: %s", nbd_get_error ());
    return NULL;
  }
  if (nbd_set_export_name (h, target) == -1
      || nbd_add_meta_context (h, "base:allocation") == -1
      || nbd_connect_unix (h, job->sock) == -1) {
    set_error (0, "disk %s: connect to backup export: %s", target,
               nbd_get_error ());
    nbd_close (h);
    return NULL;
  }
  return h;
}

void
backup_job_end (struct backup_job *job)
{
  if (job->active)
    virDomainAbortJob (job->dom);
  job->active = false;
  if (job->sock)
    unlink (job->sock);
  if (job->dir)
    rmdir (job->dir);
  free (job->sock);
  free (job->dir);
  job->sock = job->dir = NULL;
}
