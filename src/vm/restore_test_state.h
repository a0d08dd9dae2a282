/* What a restore test made, on disk before it is made (restore_test.h):
 * STATE-DIR/run-XXXXXX/state names the throw-away VM and network and is
 * locked (flock) while the run lives; the run's disks, NVRAM and console
 * files are in the same directory. */
#ifndef VMB_RESTORE_TEST_STATE_H
#define VMB_RESTORE_TEST_STATE_H

#include <limits.h>

#include <libvirt/libvirt.h>

#include "common/events.h"

struct rt_state {
  char dir[PATH_MAX];
  int fd; /* the locked state file, or -1 */
  char vm[256];
  char network[64];
};

/* Make the run's directory and state file (locked), naming a VM after
 * original and a network; nothing exists in libvirt yet. */
int rt_state_begin (const char *state_dir, const char *original,
                    struct rt_state *s);
/* Remove the VM, the network and the directory a state names (each if
 * there); 0, or -1 with the error set naming what stays. */
int rt_state_remove (virConnectPtr conn, struct rt_state *s);
/* Remove every dead run's leftovers (see restore_test.h). */
int rt_state_sweep (virConnectPtr conn, const char *state_dir,
                    struct event_log *events, unsigned *removed);

#endif
