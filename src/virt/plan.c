/* Deciding live or offline (see plan.h and DESIGN section 1). */
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "conn.h"
#include "plan.h"
#include "volumes.h"

static const char *
state_name (int state)
{
  switch (state) {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "running";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting down";
    case VIR_DOMAIN_SHUTOFF: return "shut off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "suspended by guest";
    default: return "unknown";
  }
}

static void check (struct vm_plan *p, enum plan_check_id id, const char *name,
                   bool ok, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));

static void
check (struct vm_plan *p, enum plan_check_id id, const char *name, bool ok,
       const char *fmt, ...)
{
  va_list ap;

  p->checks[id].name = name;
  p->checks[id].ok = ok;
  va_start (ap, fmt);
  vsnprintf (p->checks[id].detail, sizeof p->checks[id].detail, fmt, ap);
  va_end (ap);
}

static void
check_agent (struct vm_plan *p, bool running)
{
  const struct agent_probe *a = &p->agent;

  if (!running)
    check (p, CHECK_AGENT, "guest agent", false, "VM is %s", p->state_name);
  else if (!a->answers)
    check (p, CHECK_AGENT, "guest agent", false, "no answer to guest-ping: %s",
           a->error);
  else if (!a->freeze_enabled)
    check (p, CHECK_AGENT, "guest agent", false,
           "answers, but guest-fsfreeze-freeze is disabled");
  else
    check (p, CHECK_AGENT, "guest agent", true,
           "answers; guest-fsfreeze-freeze enabled");
}

static void
check_freezable (struct vm_plan *p)
{
  const struct agent_probe *a = &p->agent;
  char list[400] = "";
  size_t used = 0;
  const struct guest_fs *bad = NULL;

  if (!a->answers || !a->fsinfo_ok) {
    check (p, CHECK_FREEZABLE, "freezable filesystems", false,
           "unknown: guest-get-fsinfo %s",
           a->answers ? "failed" : "not reached");
    return;
  }
  for (size_t i = 0; i < a->fs.len; i++) {
    used += snprintf (list + used, used < sizeof list ? sizeof list - used : 0,
                      "%s%s %s", i ? ", " : "", a->fs.ptr[i].mountpoint,
                      a->fs.ptr[i].type);
    if (!a->fs.ptr[i].freezable && bad == NULL)
      bad = &a->fs.ptr[i];
  }
  if (bad)
    check (p, CHECK_FREEZABLE, "freezable filesystems", false,
           "%s is %s, which cannot be frozen", bad->mountpoint, bad->type);
  else if (a->fs.len == 0)
    check (p, CHECK_FREEZABLE, "freezable filesystems", false,
           "the agent reports no mounted filesystem");
  else
    check (p, CHECK_FREEZABLE, "freezable filesystems", true, "%s", list);
}

static void
check_scratch (struct vm_plan *p)
{
  for (size_t i = 0; i < p->dom.disks.len; i++) {
    const struct vm_disk *d = &p->dom.disks.ptr[i];
    CLEANUP_FREE char *dir = NULL;

    if (!d->included)
      continue;
    if (strcmp (d->type, "file") != 0) {
      check (p, CHECK_SCRATCH, "scratch space", false,
             "disk %s is a %s disk: no space beside it for the "
             "point-in-time overlay",
             d->target, d->type);
      return;
    }
    dir = strdup (d->source);
    if (dir == NULL || access (dirname (dir), W_OK) == -1) {
      check (p, CHECK_SCRATCH, "scratch space", false,
             "cannot write beside disk %s (%s)", d->target, d->source);
      return;
    }
  }
  check (p, CHECK_SCRATCH, "scratch space", true,
         "overlay beside each disk, on its storage");
}

int
vm_plan_make (virDomainPtr dom, int agent_timeout_s, struct vm_plan *p)
{
  char *xml;
  int reason;
  bool running, all_ok = true;

  memset (p, 0, sizeof *p);
  if (virDomainGetState (dom, &p->state, &reason, 0) == -1) {
    set_error (0, "VM %s: %s", virDomainGetName (dom), virt_error ());
    return -1;
  }
  p->state_name = state_name (p->state);
  /* A running VM's disks are those of its live definition: a disk
   * hot-plugged for now only is backed up, one added to the next boot's
   * configuration only is not there yet. */
  xml = virDomainGetXMLDesc (dom,
                             VIR_DOMAIN_XML_SECURE
                               | (virDomainIsActive (dom) == 1
                                    ? 0
                                    : VIR_DOMAIN_XML_INACTIVE));
  if (xml == NULL) {
    set_error (0, "VM %s: %s", virDomainGetName (dom), virt_error ());
    return -1;
  }
  if (domain_xml_parse (xml, strlen (xml), &p->dom) == -1) {
    error_prefix ("VM %s", virDomainGetName (dom));
    free (xml);
    return -1;
  }
  free (xml);
  volumes_resolve (virDomainGetConnect (dom), &p->dom, false);

  running = p->state == VIR_DOMAIN_RUNNING || p->state == VIR_DOMAIN_BLOCKED;
  if (running && agent_probe (dom, agent_timeout_s, &p->agent) == -1)
    return -1;
  check_agent (p, running);
  check_freezable (p);
  if (p->checks[CHECK_AGENT].ok && p->checks[CHECK_FREEZABLE].ok)
    check (p, CHECK_FREEZE, "freeze", true,
           "checked when the backup "
           "freezes: %zu filesystem%s must report frozen",
           p->agent.fs.len, p->agent.fs.len == 1 ? "" : "s");
  else
    check (p, CHECK_FREEZE, "freeze", false,
           "not possible without an agent that can freeze every filesystem");
  check_scratch (p);

  for (int i = 0; i < CHECK_COUNT; i++)
    all_ok &= p->checks[i].ok;
  p->live = running && all_ok;
  if (p->live)
    p->mode = "live";
  else {
    p->mode = "offline";
    if (!running)
      snprintf (p->mode_reason, sizeof p->mode_reason,
                p->state == VIR_DOMAIN_SHUTOFF
                  ? "the VM is shut off: its disks are read directly"
                  : p->state == VIR_DOMAIN_PAUSED
                  ? "the VM is paused: backed up as it is, and it stays paused"
                  : "the VM is %s: its disks are copied as they are",
                p->state_name);
    else
      for (int i = 0; i < CHECK_COUNT; i++)
        if (!p->checks[i].ok) {
          snprintf (p->mode_reason, sizeof p->mode_reason, "%s: %s",
                    p->checks[i].name, p->checks[i].detail);
          break;
        }
  }
  return 0;
}

void
vm_plan_release (struct vm_plan *p)
{
  domain_info_release (&p->dom);
  agent_probe_release (&p->agent);
}
