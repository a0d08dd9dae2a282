/* The backup plan for one VM: its state, whether a live backup is
 * possible (every DESIGN condition checked and named), and which disks
 * are included.  'vmbackup plan' prints it; 'backup' acts on it. */
#ifndef VMB_PLAN_H
#define VMB_PLAN_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "agent.h"
#include "domain_xml.h"

enum plan_check_id {
  CHECK_AGENT,
  CHECK_FREEZABLE,
  CHECK_FREEZE,
  CHECK_SCRATCH,
  CHECK_COUNT
};

struct plan_check {
  const char *name;
  bool ok;
  char detail[512];
};

struct vm_plan {
  struct domain_info dom;
  int state;              /* VIR_DOMAIN_* */
  const char *state_name; /* "running", "paused", "shut off", ... */
  bool live;              /* every check passed on a running VM */
  const char *mode;       /* "live", "offline" */
  char mode_reason[512];  /* why offline */
  struct plan_check checks[CHECK_COUNT];
  struct agent_probe agent;
};

int vm_plan_make (virDomainPtr dom, int agent_timeout_s, struct vm_plan *p);
void vm_plan_release (struct vm_plan *p);

#endif
