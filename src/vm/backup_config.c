/* What a VM backup keeps beside its disks: the domain XML, NVRAM, the
 * boot files, swtpm state, and snapshot and checkpoint metadata. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "repo/backup_file.h"
#include "virt/checkpoint.h"
#include "virt/conn.h"
#include "backup_run.h"

int
vm_run_add_file (struct vm_run *r, const char *role, const char *path,
                 const char *text)
{
  struct manifest_file f = { .role = (char *) role, .path = (char *) path };

  if (text)
    f.size = strlen (text);
  if ((text ? backup_buffer (&r->store, r->o->level, text, f.size, &f.index)
            : backup_file (&r->store, r->o->level, path, &f.size, &f.index))
      == -1)
    return -1;
  return manifest_file_vector_append (&r->m.files, f);
}

static int
keep_tpm (struct vm_run *r)
{
  char dir[512];
  const char *subs[] = { "tpm2", "tpm1.2", NULL };

  if (!r->plan.dom.has_tpm || r->plan.dom.uuid == NULL)
    return 0;
  for (int k = 0; subs[k]; k++) {
    DIR *d;
    struct dirent *e;

    snprintf (dir, sizeof dir, "%s/%s/%s", SWTPM_STATE_DIR, r->plan.dom.uuid,
              subs[k]);
    d = opendir (dir);
    if (d == NULL)
      continue;
    while ((e = readdir (d)) != NULL) {
      char *path;
      struct stat st;
      if (e->d_name[0] == '.'
          || asprintf (&path, "%s/%s", dir, e->d_name) == -1)
        continue;
      if (stat (path, &st) == 0 && S_ISREG (st.st_mode)
          && string_vector_append (&r->names, path) == 0) {
        if (vm_run_add_file (r, "tpm", path, NULL) == -1) {
          closedir (d);
          return -1;
        }
      }
      else
        free (path);
    }
    closedir (d);
  }
  return 0;
}

/* The boot files kept meanwhile (backup_boot.h); one that is gone is
 * named, not fatal: the VM already runs, and its disks and configuration
 * are still worth keeping. */
static int
keep_boot_files (struct vm_run *r)
{
  if (boot_keeper_finish (&r->boot) == -1)
    return -1;
  for (int k = 0; k < BOOT_KINDS; k++) {
    if (r->boot.missing[k])
      emit (r, EV_BOOT_FILE_MISSING,
            "%s %s: %s; the VM cannot start "
            "again without it",
            boot_kind_name[k], r->plan.dom.boot[k],
            r->boot.missing[k] > 0 ? strerror (r->boot.missing[k])
                                   : "not a regular file");
    else if (r->boot.files[k].path
             && manifest_file_vector_append (&r->m.files, r->boot.files[k])
               == -1)
      return -1;
  }
  return 0;
}

int
vm_run_keep_config (struct vm_run *r)
{
  char *xml = virDomainGetXMLDesc (r->dom,
                                   VIR_DOMAIN_XML_INACTIVE
                                     | VIR_DOMAIN_XML_SECURE);
  int ret;

  if (xml == NULL) {
    set_error (0, "domain XML: %s", virt_error ());
    return -1;
  }
  ret = vm_run_add_file (r, "domain-xml", "domain.xml", xml);
  free (xml);
  if (ret == 0 && r->plan.dom.nvram && access (r->plan.dom.nvram, F_OK) == 0)
    ret = vm_run_add_file (r, "nvram", r->plan.dom.nvram, NULL);
  if (ret == 0)
    ret = keep_boot_files (r);
  if (ret == 0)
    ret = keep_tpm (r);
  /* Parents before children, so restore can redefine them in order. */
  for (size_t i = 0; ret == 0 && i < r->snaps.len; i++)
    ret = vm_run_add_file (r,
                           r->snaps.ptr[i].current ? "snapshot-current"
                                                   : "snapshot",
                           r->snaps.ptr[i].name, r->snaps.ptr[i].xml);
  /* vmbackup's own checkpoints are bookkeeping for the next backup:
   * their bitmaps live in the images, which a restore replaces. */
  for (size_t i = 0; ret == 0 && i < r->checkpoints.len; i++)
    if (strncmp (r->checkpoints.ptr[i].name, CHECKPOINT_PREFIX,
                 strlen (CHECKPOINT_PREFIX))
        != 0)
      ret = vm_run_add_file (r, "checkpoint", r->checkpoints.ptr[i].name,
                             r->checkpoints.ptr[i].xml);
  return ret;
}
