/* One restore test (see restore_test.h):
 *
 *   0. remove what dead runs left (their state files are unlocked);
 *   1. write the run's state file: the names of what it will make;
 *   2. create a transient network with no <forward> and no addresses:
 *      the guest reaches nothing, nothing reaches it;
 *   3. restore the backup as restore --as NAME --storage RUN-DIR does
 *      (new name, UUID, MACs, files: the original is not touched), then
 *      redefine it isolated (virt/domain_isolate.h);
 *   4. start it, wait for the guest agent, run the checks;
 *   5. remove the VM, the network and the run's directory.
 *
 * Signals that end a run (SIGINT, SIGTERM, SIGHUP) are blocked for its
 * length and looked for between steps, so the cleanup always runs; a
 * janitor process does it when the run is killed outright. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/error.h"
#include "common/units.h"
#include "virt/agent_exec.h"
#include "virt/conn.h"
#include "virt/domain_isolate.h"
#include "restore.h"
#include "restore_test.h"
#include "restore_test_checks.h"
#include "restore_test_janitor.h"
#include "restore_test_state.h"

struct run {
  const struct restore_test_opts *o;
  struct restore_test_result *res;
  virConnectPtr conn;
  virDomainPtr dom;
  struct rt_state state;
  struct rt_janitor janitor;
  sigset_t stops;
};

#define emit(r, ...) event_emit ((r)->o->events, __VA_ARGS__)

/* A stop signal that arrived, taken (0: none). */
static int
stop_signal (struct run *r)
{
  struct timespec zero = { 0, 0 };
  int sig = sigtimedwait (&r->stops, NULL, &zero);

  return sig > 0 ? sig : 0;
}

static int
interrupted (struct run *r)
{
  int sig = stop_signal (r);

  if (sig == 0)
    return 0;
  set_error (0, "interrupted by %s", sigabbrev_np (sig));
  return -1;
}

static int
make_network (struct run *r)
{
  char xml[512];
  virNetworkPtr net;

  /* No <forward>: isolated.  No <ip>: no address, no DHCP, no route. */
  snprintf (xml, sizeof xml,
            "<network><name>%s</name><bridge stp='off' delay='0'/>"
            "</network>",
            r->state.network);
  net = virNetworkCreateXML (r->conn, xml);
  if (net == NULL) {
    set_error (0, "create isolated network %s: %s", r->state.network,
               virt_error ());
    return -1;
  }
  virNetworkFree (net);
  return 0;
}

/* Restore beside everything, then move it onto the isolated network. */
static int
restore_isolated (struct run *r, struct repo *repo, const struct manifest *m)
{
  struct restore_vm_opts vo = {
    .uri = r->o->uri,
    .as = r->state.vm,
    .storage = r->state.dir,
    .events = r->o->events,
  };
  char *xml, *isolated;

  if (restore_vm (repo, m, &vo) == -1)
    return -1;
  event_log_reset (r->o->events, m->name, m->id);
  r->dom = virDomainLookupByName (r->conn, r->state.vm);
  xml = r->dom ? virDomainGetXMLDesc (r->dom, VIR_DOMAIN_XML_INACTIVE) : NULL;
  if (xml == NULL) {
    set_error (0, "read VM %s's definition: %s", r->state.vm, virt_error ());
    return -1;
  }
  isolated = domain_xml_isolate (xml, r->state.network, r->state.dir);
  free (xml);
  if (isolated == NULL)
    return -1;
  virDomainFree (r->dom);
  r->dom = virDomainDefineXML (r->conn, isolated);
  free (isolated);
  if (r->dom == NULL) {
    set_error (0, "redefine VM %s on the isolated network: %s", r->state.vm,
               virt_error ());
    return -1;
  }
  return 0;
}

/* Start the VM and wait for its agent; fails when the VM stops, the
 * agent does not answer in time, or a stop signal comes. */
static int
boot (struct run *r, double *started)
{
  double end;
  int state, reason;

  if (virDomainCreate (r->dom) == -1) {
    set_error (0, "start VM %s: %s", r->state.vm, virt_error ());
    return -1;
  }
  *started = now_monotonic ();
  end = *started + r->o->timeout_s;
  for (;;) {
    if (interrupted (r) == -1)
      return -1;
    if (virDomainGetState (r->dom, &state, &reason, 0) == 0
        && (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED)) {
      set_error (0, "the restored VM %s while booting",
                 state == VIR_DOMAIN_CRASHED ? "crashed" : "turned off");
      return -1;
    }
    if (agent_ping (r->dom, 2) == 0)
      break;
    if (now_monotonic () > end) {
      set_error (0,
                 "the guest agent did not answer within %d s of the "
                 "start: the restored VM did not boot, or runs no agent",
                 r->o->timeout_s);
      return -1;
    }
    usleep (500 * 1000);
  }
  r->res->agent_seconds = now_monotonic () - *started;
  emit (r, EV_RT_AGENT, "guest agent answered %.1f s after the start",
        r->res->agent_seconds);
  return 0;
}

static int
run_checks (struct run *r, double started)
{
  size_t failed = 0;

  for (size_t i = 0; i < r->o->nchecks && i < RESTORE_TEST_MAX_CHECKS; i++) {
    struct restore_check_result *c = &r->res->checks[i];
    if (interrupted (r) == -1)
      return -1;
    restore_check_run (r->dom, &r->o->checks[i], r->o->timeout_s, c);
    c->at = now_monotonic () - started;
    r->res->nchecks = i + 1;
    if (c->ok)
      emit (r, EV_RT_CHECK_PASSED, "check %s passed in %.1f s: %s", c->spec,
            c->seconds, c->detail);
    else {
      emit (r, EV_RT_CHECK_FAILED, "check %s failed after %.1f s: %s", c->spec,
            c->seconds, c->detail);
      failed++;
    }
  }
  for (size_t i = 0; failed && i < r->res->nchecks; i++)
    if (!r->res->checks[i].ok) {
      set_error (0, "check %s failed: %s", r->res->checks[i].spec,
                 r->res->checks[i].detail);
      return -1;
    }
  return 0;
}

static int
steps (struct run *r, struct repo *repo, const struct manifest *m)
{
  const char *dir = r->o->state_dir ? r->o->state_dir : RESTORE_TEST_STATE_DIR;
  double t0 = now_monotonic (), started;

  if (rt_state_sweep (r->conn, dir, r->o->events, &r->res->leftovers) == -1)
    return -1;
  if (rt_state_begin (dir, m->name, &r->state) == -1)
    return -1;
  rt_janitor_tell (&r->janitor, "test-vm", r->state.vm);
  rt_janitor_tell (&r->janitor, "network", r->state.network);
  rt_janitor_tell (&r->janitor, "run", r->state.dir);
  snprintf (r->res->vm, sizeof r->res->vm, "%s", r->state.vm);
  snprintf (r->res->network, sizeof r->res->network, "%s", r->state.network);
  emit (r, EV_RT_STARTED, "restore test of %s as VM %s on isolated network %s",
        m->id, r->state.vm, r->state.network);
  if (interrupted (r) == -1 || make_network (r) == -1 || interrupted (r) == -1
      || restore_isolated (r, repo, m) == -1)
    return -1;
  r->res->restore_seconds = now_monotonic () - t0;
  emit (r, EV_RT_RESTORED,
        "restored as %s in %.1f s, every NIC on isolated network %s",
        r->state.vm, r->res->restore_seconds, r->state.network);
  if (boot (r, &started) == -1)
    return -1;
  return run_checks (r, started);
}

int
restore_test_run (struct repo *repo, const struct manifest *m,
                  const struct restore_test_opts *o,
                  struct restore_test_result *res)
{
  struct run r = { .o = o,
                   .res = res,
                   .state = { .fd = -1 },
                   .janitor = { .pid = -1, .fd = -1 } };
  double t0 = now_monotonic ();
  sigset_t old;
  int ret;

  memset (res, 0, sizeof *res);
  res->agent_seconds = -1;
  snprintf (res->backup, sizeof res->backup, "%s", m->id);
  snprintf (res->original, sizeof res->original, "%s", m->name);
  event_log_reset (o->events, m->name, m->id);
  if (strcmp (m->kind, "vm") != 0) {
    set_error (0, "backup %s is not a VM backup", m->id);
    snprintf (res->reason, sizeof res->reason, "%s", get_error ());
    return -1;
  }
  sigemptyset (&r.stops);
  sigaddset (&r.stops, SIGINT);
  sigaddset (&r.stops, SIGTERM);
  sigaddset (&r.stops, SIGHUP);
  sigprocmask (SIG_BLOCK, &r.stops, &old);
  /* Should this process die, the janitor cleans up at once. */
  if (rt_janitor_start (o, &r.janitor) == -1)
    emit (&r, EV_RT_CLEANUP_FAILED,
          "%s: a kill of this run would leave its VM until the next run",
          get_error ());
  rt_janitor_tell (&r.janitor, "vm", m->name);
  rt_janitor_tell (&r.janitor, "backup", m->id);
  r.conn = virt_connect (o->uri);
  ret = r.conn ? steps (&r, repo, m) : -1;
  if (ret == -1)
    snprintf (res->reason, sizeof res->reason, "%s", get_error ());
  if (r.dom)
    virDomainFree (r.dom);
  res->cleaned = true;
  if (r.conn && r.state.dir[0] && rt_state_remove (r.conn, &r.state) == -1) {
    res->cleaned = false;
    emit (&r, EV_RT_CLEANUP_FAILED, "%s", get_error ());
    if (ret == 0)
      snprintf (res->reason, sizeof res->reason, "cleanup: %s", get_error ());
    ret = -1;
  }
  if (r.state.fd >= 0)
    close (r.state.fd);
  rt_janitor_dismiss (&r.janitor);
  res->total_seconds = now_monotonic () - t0;
  res->passed = ret == 0;
  if (ret == 0)
    emit (&r, EV_RT_PASSED,
          "restore test of %s passed: agent after %.1f s, %zu check%s, "
          "%.1f s in all",
          m->id, res->agent_seconds, res->nchecks,
          res->nchecks == 1 ? "" : "s", res->total_seconds);
  else
    emit (&r, EV_RT_FAILED, "restore test of %s failed: %s", m->id,
          res->reason);
  if (r.conn)
    virConnectClose (r.conn);
  /* A signal that came during the cleanup was answered by it. */
  while (stop_signal (&r) > 0)
    res->interrupted = true;
  if (strncmp (res->reason, "interrupted by ", 15) == 0)
    res->interrupted = true;
  sigprocmask (SIG_SETMASK, &old, NULL);
  if (ret == -1)
    set_error (0, "%s", res->reason);
  return ret;
}
