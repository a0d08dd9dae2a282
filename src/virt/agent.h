/* The QEMU guest agent, through libvirt: whether it answers, whether it
 * can freeze, which filesystems the guest has mounted.  Every call is
 * bounded by a timeout: a hung agent must never hang a backup. */
#ifndef VMB_AGENT_H
#define VMB_AGENT_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "common/vector.h"

struct guest_fs {
  char *mountpoint;
  char *type;
  bool freezable;
};
DEFINE_VECTOR_TYPE (guest_fs_vector, struct guest_fs);

struct agent_probe {
  bool answers;        /* guest-ping returned */
  bool freeze_enabled; /* guest-info: guest-fsfreeze-freeze enabled */
  bool fsinfo_ok;      /* guest-get-fsinfo returned */
  char error[256];     /* why it does not answer */
  guest_fs_vector fs;
};

int agent_probe (virDomainPtr dom, int timeout_s, struct agent_probe *p);
void agent_probe_release (struct agent_probe *p);

/* Filesystem types the agent can freeze (fsfreeze ioctl / VSS). */
bool fs_type_freezable (const char *type);

#endif
