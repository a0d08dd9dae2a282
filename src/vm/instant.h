/* Instant recovery: a VM restored to run at once on local qcow2
 * overlays whose backing is its backup, served over NBD, while each
 * disk is copied into a new image at the disk's own path: first the
 * whole backup (a restore of the one disk, instant_fill.c), then what
 * the guest wrote (a shallow block copy, a mirror job of the overlay
 * alone); once that copy is in step, a pivot puts the VM on the new
 * image, libvirt rewrites its definition, and the overlay and the
 * export are no longer needed (instant_copy.c).
 *
 * The overlay of disk PATH is PATH.vmbackup-instant: the copy is
 * written at PATH itself, so the restored VM ends up with its disks
 * where a full restore puts them, in the backup's format.
 *
 * A background process, the keeper, runs the exports (one nbdkit per
 * disk, their sockets in the run directory RUN/instant-NAME, RUN as
 * run_dir_base says), starts, restarts and pivots the copies, and
 * writes the progress file.  What the guest writes goes to the
 * overlays (and, once the shallow copy runs, to the new image too), so
 * a kill of anything (the command, the keeper, an nbdkit, libvirtd)
 * loses nothing: rerunning the same restore finds the VM still backed by the
 * sockets, starts a new keeper on them (QEMU's NBD client reconnects)
 * and a copy that stopped starts again. */
#ifndef VMB_VM_INSTANT_H
#define VMB_VM_INSTANT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/events.h"

/* What the restore needs beyond a full restore's options. */
struct instant_opts {
  const char *plugin; /* export_plugin_path () */
  const char *repo;   /* the repository as nbdkit opens it */
  /* A fresh pipe holding the key for one nbdkit, -1 for a repository
   * in the clear; *failed on error (already reported). */
  int (*key_pipe) (void *opaque, bool *failed);
  void *opaque;
  int bandwidth_mib; /* the copy's limit per disk in MiB/s, 0: none */
};

struct instant_disk {
  char target[32]; /* "vda" */
  char socket[4096];
  int key_fd;
  /* Where the copy goes (the disk's final path) and in which format,
   * "raw" or "qcow2"; path "" for an overlay an earlier version made at
   * the final path itself, which QEMU fills by a block pull instead. */
  char path[4096];
  char format[8];
  char overlay[4200]; /* PATH.vmbackup-instant */
};

/* The overlay's name beside the disk's final path. */
#define INSTANT_OVERLAY_SUFFIX ".vmbackup-instant"

struct instant_keeper_params {
  const char *vm, *backup, *uri;
  const struct instant_opts *io;
  struct event_log *events;
  struct instant_disk *disks;
  size_t ndisks;
  const char *rundir;
  uid_t qemu_uid; /* the sockets' owner: QEMU connects to them */
  gid_t qemu_gid;
};

/* RUN/instant-NAME for the VM called name.  0, or -1 with the error. */
int instant_run_dir (const char *name, char *out, size_t len);

/* Start the keeper: once every export serves, 0 with *go_fd a socket
 * on which to write "go" once the VM is defined and started, and read
 * "going" back (the keeper no longer dies with the caller); closing it
 * instead stops the keeper.  -1 with the error set and
 * nothing left running. */
int instant_keeper_start (const struct instant_keeper_params *p, int *go_fd);

/* Whether a keeper runs for this run directory. */
bool instant_keeper_running (const char *rundir);

/* Stop the keeper of rundir (SIGTERM, then SIGKILL), and anything that
 * still holds the directory; the directory stays (the VM names it). */
void instant_keeper_stop (const char *rundir);

/* One line of --instant-status per instant restore in progress, to fn:
 * the VM, the backup, whether its keeper runs, and per disk the bytes
 * copied of the total as the keeper last wrote them. */
struct instant_status_disk {
  char target[32];
  unsigned long long copied, total;
};
struct instant_status {
  char vm[256], backup[256];
  bool running; /* the keeper runs */
  struct instant_status_disk disks[16];
  size_t ndisks;
};
/* What the run directory rundir says. */
void instant_status_read (const char *rundir, struct instant_status *s);
int instant_status_list (void (*fn) (void *opaque,
                                     const struct instant_status *s),
                         void *opaque);

#endif
