/* The files a VM boots from (direct-boot kernel, initrd, device tree,
 * firmware loader: virt/domain_xml.h) into its backup, on a thread of
 * their own while the disks are read: a kernel is tens of MiB, and
 * hashing and compressing it after the disks made a small VM's backup
 * 5% longer.  Without these files a restored VM, or this one on a
 * rebuilt host, cannot start. */
#ifndef VMB_BACKUP_BOOT_H
#define VMB_BACKUP_BOOT_H

#include <pthread.h>
#include <stdbool.h>

#include "repo/manifest.h"
#include "repo/store.h"
#include "virt/domain_xml.h"

struct boot_keeper {
  struct store *store;
  int level;
  char *const *paths; /* domain_info.boot */
  pthread_t thread;
  bool started;
  /* Results, valid after boot_keeper_finish: */
  struct manifest_file files[BOOT_KINDS]; /* role "boot"; path NULL: none */
  int missing[BOOT_KINDS]; /* errno why a named file is not there,
                                 * or -1: not a regular file */
  int ret;
  char error[1024];
};

/* Start keeping paths[] (BOOT_KINDS entries, NULL where none). */
int boot_keeper_start (struct boot_keeper *k, struct store *store, int level,
                       char *const *paths);
/* Wait for it (again: no-op); -1 with the error set if storing failed.
 * A file that was not there is not an error: see missing[]. */
int boot_keeper_finish (struct boot_keeper *k);

#endif
