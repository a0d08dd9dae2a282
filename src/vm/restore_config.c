/* What comes back beside a restored VM's disks once it is defined: its
 * emulated TPM's state and its snapshot metadata. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "repo/restore_file.h"
#include "virt/conn.h"
#include "virt/domain_edit.h"
#include "restore_run.h"

const struct manifest_file *
restore_find_file (const struct manifest *m, const char *role)
{
  for (size_t i = 0; i < m->files.len; i++)
    if (strcmp (m->files.ptr[i].role, role) == 0)
      return &m->files.ptr[i];
  return NULL;
}

/* Into the restored domain's own state directory (a new UUID under
 * --as), at the VERSION/FILE the plan took from each line. */
int
restore_tpm (struct vm_restore *r)
{
  char uuid[VIR_UUID_STRING_BUFLEN], dir[PATH_MAX], path[PATH_MAX];

  if (r->plan.ntpm == 0 || virDomainGetUUIDString (r->dom, uuid) == -1)
    return 0;
  for (size_t i = 0; i < r->plan.ntpm; i++) {
    const struct planned_tpm *t = &r->plan.tpm[i];
    size_t vlen = strcspn (t->rel, "/");

    snprintf (dir, sizeof dir, "%s/%s", SWTPM_STATE_DIR, uuid);
    mkdir (SWTPM_STATE_DIR, 0711);
    mkdir (dir, 0711);
    snprintf (dir, sizeof dir, "%s/%s/%.*s", SWTPM_STATE_DIR, uuid, (int) vlen,
              t->rel);
    mkdir (dir, 0700);
    snprintf (path, sizeof path, "%s/%s/%s", SWTPM_STATE_DIR, uuid, t->rel);
    if (restore_file_path (r->repo, t->file, path, 0600) == -1)
      return -1;
  }
  return 0;
}

int
restore_snapshots (struct vm_restore *r)
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
      vm_report_message (r->o->report, VM_REPORT_WARNING,
                         "snapshot %s not "
                         "redefined on a VM restored under a new name",
                         f->path);
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
    snap
      = virDomainSnapshotCreateXML (r->dom, xml,
                                    VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
                                      | (current
                                           ? VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
                                           : 0));
    if (snap == NULL) {
      set_error (0, "redefine snapshot %s: %s", f->path, virt_error ());
      return -1;
    }
    virDomainSnapshotFree (snap);
  }
  return 0;
}
