/* What a whole-VM restore will write where, decided before anything is
 * written: each disk's final path (its own, under --storage DIR, or a
 * new name for --as NAME), the NVRAM's, the boot files and TPM state it
 * may put back, and which existing files it may overwrite (only those
 * of the VM it replaces).  Every path comes from the backed-up domain
 * XML or the command line, never from a manifest's file line alone
 * (restore_paths.c).  Pure but for the two probes, so that tests can
 * ask it without a host. */
#ifndef VMB_VM_RESTORE_PLAN_H
#define VMB_VM_RESTORE_PLAN_H

#include <stdbool.h>

#include "repo/manifest.h"
#include "virt/domain_xml.h"
#include "restore.h"

struct planned_disk {
  const struct manifest_disk *md;
  char *path;       /* final path */
  char *staged;     /* PATH.vmbackup-new */
  bool written;     /* staged exists */
  bool placed;      /* moved to path */
  bool in_place;    /* the block device path, written where it
                                 * is once its VM is gone (restore_block.h) */
  bool keep_source; /* its pool volume's file: the domain XML
                                 * names it already */
};

/* What the plan asks of the host. */
struct restore_probe {
  bool (*exists) (void *opaque, const char *path);
  /* May disk target be written into block device dev (restore_block.h)?
   * 0, or -1 with the error set. */
  int (*check_block) (void *opaque, const char *vm, const char *target,
                      const char *dev, const struct manifest_disk *md);
  void *opaque;
};

/* One file of an emulated TPM's state. */
struct planned_tpm {
  const struct manifest_file *file;
  char *rel; /* "tpm2/NAME" or "tpm1.2/NAME", under the restored
              * domain's SWTPM_STATE_DIR/UUID */
};

struct restore_plan {
  const char *name;           /* the restored VM's name */
  struct planned_disk *disks; /* the manifest's disks but snapshot states */
  size_t ndisks;
  char *nvram;                            /* where NVRAM goes, or NULL */
  const struct manifest_file *nvram_file; /* its line, or NULL */
  /* Boot files to put back where missing: each at its path, one the
   * backed-up domain XML's <os> names. */
  const struct manifest_file **boot;
  size_t nboot;
  struct planned_tpm *tpm;
  size_t ntpm;
};

/* A path restore may write: absolute, with no empty, . or ..
 * component.  0, or -1 with the error "WHAT PATH: why". */
int restore_path_check (const char *what, const char *path);

/* The boot, NVRAM and TPM file lines of m, checked against the backed-up
 * domain (info) and entered in plan (restore_paths.c).  0, or -1 with
 * the error set. */
int restore_plan_files (const struct manifest *m,
                        const struct domain_info *info,
                        struct restore_plan *plan);

/* May the restore go ahead?  exists: a VM of the restored name is
 * defined; same_uuid: the name of another VM with the backup's UUID, or
 * NULL.  0, or -1 with the error the user sees. */
int restore_check_conflict (const char *name, bool exists,
                            const char *same_uuid,
                            const struct restore_vm_opts *o);

/* Map the manifest's disks onto the backed-up domain (info) and decide
 * their paths.  existing: the definition of the VM being replaced, or
 * NULL.  0, or -1 with the error set; release the plan either way. */
int restore_plan_make (const struct manifest *m,
                       const struct domain_info *info,
                       const struct domain_info *existing,
                       const struct restore_vm_opts *o,
                       const struct restore_probe *probe,
                       struct restore_plan *plan);
void restore_plan_release (struct restore_plan *plan);

#endif
