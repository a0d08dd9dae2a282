/* One whole-VM restore's state, shared by restore.c (the stages),
 * restore_write.c (writing the disks) and restore_config.c (what comes
 * back beside them). */
#ifndef VMB_VM_RESTORE_RUN_H
#define VMB_VM_RESTORE_RUN_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "repo/manifest.h"
#include "repo/repo.h"
#include "virt/domain_xml.h"
#include "restore.h"
#include "restore_boot.h"
#include "instant.h"
#include "restore_plan.h"

struct vm_restore {
  struct repo *repo;
  const struct manifest *m;
  const struct restore_vm_opts *o;
  virConnectPtr conn;
  struct domain_info info; /* of the backed-up XML */
  char *xml;
  const char *name;         /* the restored VM's name */
  struct restore_plan plan; /* disks and NVRAM: where they go */
  bool nvram_written;
  virDomainPtr existing; /* the VM we would replace */
  struct domain_info existing_info;
  bool was_running;         /* it ran: the restored VM runs too */
  virDomainPtr dom;         /* the VM we defined */
  path_vector boot_created; /* boot files we put back */
  /* --instant (restore_instant.c) */
  char instant_rundir[4096]; /* "" until known */
  int instant_go;            /* the keeper's go pipe, or -1 */
  bool instant_resumed;
  bool instant_running; /* resuming found it running: nothing done */
  struct instant_disk *idisks;
  size_t nidisks;
};

/* The largest domain or snapshot XML a backup may hold. */
#define XML_MAX (16 << 20)

/* Events of this operation go to the log the caller opened. */
#define emit(r, ...) event_emit ((r)->o->events, __VA_ARGS__)

/* The backup's one file of this role, or NULL. */
const struct manifest_file *restore_find_file (const struct manifest *m,
                                               const char *role);
/* Stage 1: every disk, written and checked, beside its final path. */
int restore_write_disks (struct vm_restore *r);
/* argv run with its output discarded: 0 if it exited 0, else -1. */
int restore_run_quiet (char *const argv[]);
/* restore_luks.c: a disk the domain XML says is a LUKS-encrypted image,
 * staged in the clear, encrypted again with its secret's passphrase (so
 * that the VM starts, and its data is not left in the clear at rest).
 * 0 (also for a disk that is not encrypted), or -1 with the error set. */
int restore_luks (struct vm_restore *r, struct planned_disk *pd);
/* Stage 2b: block devices, once no VM uses them. */
int restore_write_devices (struct vm_restore *r);
/* After the VM is defined: its TPM state and snapshot metadata. */
int restore_tpm (struct vm_restore *r);
int restore_snapshots (struct vm_restore *r);

/* restore_instant.c, for --instant.  Before anything else: a VM of
 * the restored name whose instant restore stopped is resumed (*resumed;
 * 0 or -1, the restore is over either way).  Stage 1: the keeper serves
 * the disks and each gets its overlay (staged); the socket a disk's
 * overlay reads; once the VM runs, the keeper is told to copy; undo and
 * release. */
int restore_instant_resume (struct vm_restore *r, bool *resumed);
int restore_instant_stage (struct vm_restore *r);
const char *restore_instant_socket (const struct vm_restore *r,
                                    const char *target);
/* Where the overlay of disk target goes (instead of its final path). */
const char *restore_instant_overlay (const struct vm_restore *r,
                                     const char *target);
int restore_instant_go (struct vm_restore *r);
/* Whether path is a disk's final path whose overlay (PATH.vmbackup-instant,
 * a qcow2 backed by a socket of this VM's run directory) an instant
 * restore of this VM left with no keeper (killed, or its VM undefined
 * mid-copy): what is at path is a copy that stopped, of no use without
 * that run, so the restore may make it again rather than refuse it. */
bool restore_instant_leftover (const struct vm_restore *r, const char *path);
void restore_instant_undo (struct vm_restore *r);
void restore_instant_release (struct vm_restore *r);

#endif
