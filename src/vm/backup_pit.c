/* The point-in-time copy of a running or paused VM: freeze its
 * filesystems (application-consistent) or suspend it (offline), start
 * the pull backup job with this backup's checkpoint, and put the guest
 * back at once: the disks are read from the job's export afterwards.
 * The guardian (virt/guard.h) is told each stage, so that a vmbackup
 * killed in between still thaws or resumes the VM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/test_hooks.h"
#include "common/units.h"
#include "virt/conn.h"
#include "backup_run.h"

#define AGENT_TIMEOUT_S 10

/* SIGINT and SIGTERM wait while the VM is frozen or paused by us: the
 * default action then runs only after we put it back.  (SIGKILL cannot
 * wait; the guardian covers it.) */
static void
hold_signals (struct vm_run *r)
{
  sigset_t s;

  sigemptyset (&s);
  sigaddset (&s, SIGINT);
  sigaddset (&s, SIGTERM);
  sigaddset (&s, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &s, &r->saved_mask);
}

static void
release_signals (struct vm_run *r)
{
  pthread_sigmask (SIG_SETMASK, &r->saved_mask, NULL);
}

/* For tests: keep the guest frozen a while so a test can kill us there
 * (the test waits for the note). */
static void
test_hold (struct vm_run *r, const char *what)
{
  unsigned s = test_hook_hold_frozen ();

  if (s > 0) {
    vm_report_message (r->o->report, VM_REPORT_NOTE, "test hold: %s for %u s",
                       what, s);
    sleep (s);
  }
}

static int
freeze (struct vm_run *r)
{
  int n;

  virDomainAgentSetResponseTimeout (r->dom, AGENT_TIMEOUT_S, 0);
  guard_stage (&r->guard, GUARD_FROZEN);
  n = virDomainFSFreeze (r->dom, NULL, 0, 0);
  if (n < 0 || (size_t) n != r->plan.agent.fs.len) {
    /* Thaw even when the freeze call failed: a freeze that timed out on
     * our side may still complete in the guest. */
    virDomainFSThaw (r->dom, NULL, 0, 0);
    guard_stage (&r->guard, GUARD_THAWED);
    set_error (0, "freeze %s: %s", n < 0 ? "failed" : "incomplete",
               n < 0 ? virt_error () : "not every filesystem froze");
    return -1;
  }
  r->frozen = true;
  r->frozen_at = now_monotonic ();
  emit (r, EV_FROZEN, "froze %d filesystem%s", n, n == 1 ? "" : "s");
  return 0;
}

static void
thaw (struct vm_run *r)
{
  if (!r->frozen)
    return;
  if (virDomainFSThaw (r->dom, NULL, 0, 0) < 0)
    vm_report_message (r->o->report, VM_REPORT_WARNING, "VM %s: thaw: %s",
                       r->plan.dom.name, virt_error ());
  r->frozen = false;
  guard_stage (&r->guard, GUARD_THAWED);
  emit (r, EV_THAWED, "thawed after %.0f ms frozen",
        (now_monotonic () - r->frozen_at) * 1000);
}

static int
suspend (struct vm_run *r)
{
  guard_stage (&r->guard, GUARD_PAUSED);
  if (virDomainSuspend (r->dom) == -1) {
    guard_stage (&r->guard, GUARD_RESUMED);
    set_error (0, "suspend: %s", virt_error ());
    return -1;
  }
  r->paused_by_us = true;
  return 0;
}

static void
resume (struct vm_run *r)
{
  if (!r->paused_by_us)
    return;
  if (virDomainResume (r->dom) == -1)
    vm_report_message (r->o->report, VM_REPORT_WARNING, "VM %s: resume: %s",
                       r->plan.dom.name, virt_error ());
  r->paused_by_us = false;
  guard_stage (&r->guard, GUARD_RESUMED);
}

/* The disks' checkpoints, in domain order, as the job wants them;
 * true when any disk is incremental. */
static bool
disks_since (const struct vm_run *r, const char **since)
{
  bool any = false;

  for (size_t i = 0; i < r->plan.dom.disks.len; i++) {
    since[i] = r->inc.disks[i].since;
    any |= since[i] != NULL;
  }
  return any;
}

/* Start the pull job, creating this backup's checkpoint with it.  When
 * libvirt cannot use the previous checkpoint's bitmaps (inconsistent
 * after a crash, gone from an image) it refuses the whole job: start it
 * again reading every disk whole.  When it cannot make a checkpoint
 * either (a qcow2 v2 image keeps no bitmaps), start it without one.
 * Each attempt fails fast, inside the same freeze. */
static int
begin_job (struct vm_run *r)
{
  CLEANUP_FREE const char **since = calloc (r->plan.dom.disks.len + 1,
                                            sizeof *since);
  char why[1024];

  if (since == NULL) {
    set_error (ENOMEM, "backup job");
    return -1;
  }
  for (;;) {
    bool incremental = disks_since (r, since);
    if (backup_job_begin (&r->job, r->dom, &r->plan.dom, since, r->inc.new_xml)
        == 0)
      break;
    snprintf (why, sizeof why, "%s", get_error ());
    if (incremental)
      incremental_fall_back (&r->inc, why);
    else if (r->inc.new_xml)
      incremental_no_checkpoint (&r->inc, why);
    else
      return -1;
  }
  r->inc.created = r->inc.new_xml != NULL;
  return guard_job_dir (&r->guard, r->job.dir);
}

int
vm_run_start_job (struct vm_run *r)
{
  bool running = r->plan.state == VIR_DOMAIN_RUNNING
    || r->plan.state == VIR_DOMAIN_BLOCKED;
  double t0 = now_monotonic ();
  int ret = -1;

  hold_signals (r);
  if (strcmp (r->consistency, "application") == 0 && freeze (r) == -1) {
    if (strcmp (r->o->consistency, "application") == 0)
      goto out;
    /* auto: a freeze that fails falls back to offline. */
    emit (r, EV_FREEZE_FAILED, "%s: offline backup", get_error ());
    r->consistency = "offline";
  }
  t0 = now_monotonic (); /* downtime starts at the suspend */
  if (strcmp (r->consistency, "offline") == 0 && running && suspend (r) == -1)
    goto out;
  guard_stage (&r->guard, GUARD_JOB);
  if (begin_job (r) == -1) {
    guard_stage (&r->guard, GUARD_JOB_DONE);
    goto out;
  }
  if (r->frozen)
    test_hold (r, "guest frozen, job started");
  ret = 0;
out:
  thaw (r);
  if (r->paused_by_us) {
    resume (r);
    r->m.downtime_ms = (now_monotonic () - t0) * 1000;
    emit (r, EV_SUSPENDED,
          "VM suspended for %lld ms for the point-in-time "
          "copy",
          (long long) r->m.downtime_ms);
    if (r->m.downtime_ms > r->o->downtime_warn_ms)
      emit (r, EV_DOWNTIME_HIGH, "downtime %lld ms is over %d ms",
            (long long) r->m.downtime_ms, r->o->downtime_warn_ms);
  }
  release_signals (r);
  return ret;
}
