/* Pull-mode backup jobs (see backup_job.h). */
#include <dirent.h>
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
#include "nbd/extents.h"
#include "nbd/server.h"
#include "xml_util.h"
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
  if (g
      && (chown (job->dir, -1, g->gr_gid) == -1
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

static char *
backup_xml (const struct backup_job *job, const struct domain_info *info,
            const char *const *since)
{
  struct strbuf sb = STRBUF_INIT;

  strbuf_addstr (&sb,
                 "<domainbackup mode='pull'><server transport='unix' "
                 "socket='");
  xml_add_escaped (&sb, job->sock);
  strbuf_addstr (&sb, "'/><disks>");
  for (size_t i = 0; i < info->disks.len; i++) {
    const struct vm_disk *d = &info->disks.ptr[i];
    if (strcmp (d->device, "hostdev") == 0)
      continue;
    strbuf_addstr (&sb, "<disk name='");
    xml_add_escaped (&sb, d->target);
    if (!d->included) {
      strbuf_addstr (&sb, "' backup='no'/>");
      continue;
    }
    if (since && since[i]) {
      strbuf_addstr (&sb, "' backupmode='incremental' incremental='");
      xml_add_escaped (&sb, since[i]);
    }
    else
      strbuf_addstr (&sb, "' backupmode='full");
    strbuf_addstr (&sb, "' backup='yes' type='file'><scratch file='");
    if (strcmp (d->type, "file") == 0) {
      /* Beside the disk, on its storage (DESIGN's live condition); the
       * PID keeps two backups of one VM from colliding. */
      CLEANUP_FREE char *copy = strdup (d->source);
      strbuf_addf (&sb, "%s/.vmbackup-scratch-%s-%d.qcow2",
                   copy ? dirname (copy) : "/tmp", d->target, (int) getpid ());
    }
    else {
      /* No directory beside a block device or pool volume (plan calls
       * that offline): the job's own directory.  libvirt 9 cannot pick
       * a scratch file for such a disk itself ("argument key 'filename'
       * must not have null value"). */
      xml_add_escaped (&sb, job->dir);
      strbuf_addstr (&sb, "/scratch-");
      xml_add_escaped (&sb, d->target);
      strbuf_addstr (&sb, ".qcow2");
    }
    strbuf_addstr (&sb, "'/></disk>");
  }
  strbuf_addstr (&sb, "</disks></domainbackup>");
  return strbuf_detach (&sb);
}

int
backup_job_begin (struct backup_job *job, virDomainPtr dom,
                  const struct domain_info *info, const char *const *since,
                  const char *checkpoint_xml)
{
  CLEANUP_FREE char *xml = NULL;

  memset (job, 0, sizeof *job);
  job->dom = dom;
  if (make_socket_dir (job) == -1) {
    backup_job_end (job);
    return -1;
  }
  xml = backup_xml (job, info, since);
  if (virDomainBackupBegin (dom, xml, checkpoint_xml, 0) == -1) {
    set_error (0, "VM %s: start backup job: %s", info->name, virt_error ());
    backup_job_end (job); /* its directory: the caller may retry */
    return -1;
  }
  job->active = true;
  return 0;
}

char *
backup_job_dirty_context (const char *target)
{
  char *s;

  if (asprintf (&s, DIRTY_BITMAP_PREFIX "backup-%s", target) == -1)
    return NULL;
  return s;
}

struct nbd_handle *
backup_job_connect (struct backup_job *job, const char *target,
                    const char *dirty_context)
{
  struct nbd_handle *h = nbd_open_unix_export (job->sock, target, true,
                                               dirty_context);

  if (h == NULL)
    error_prefix ("disk %s: backup export", target);
  return h;
}

void
backup_job_dir_remove (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *e;

  /* Only what a job puts there: the socket, and scratch files libvirt
   * made for block disks if it left any. */
  while (d && (e = readdir (d)) != NULL)
    if (strcmp (e->d_name, "nbd.sock") == 0
        || strncmp (e->d_name, "scratch-", 8) == 0)
      unlinkat (dirfd (d), e->d_name, 0);
  if (d)
    closedir (d);
  rmdir (dir);
}

void
backup_job_end (struct backup_job *job)
{
  if (job->active)
    virDomainAbortJob (job->dom);
  job->active = false;
  if (job->dir)
    backup_job_dir_remove (job->dir);
  free (job->sock);
  free (job->dir);
  job->sock = job->dir = NULL;
}
