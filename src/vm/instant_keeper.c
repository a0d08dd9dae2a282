/* The keeper of an instant restore (see instant.h): it serves the
 * backup's disks to the VM, has QEMU copy them into local images
 * (instant_copy.c), and goes away once no disk of the VM needs its
 * socket any more. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "common/error.h"
#include "common/units.h"
#include "engine/restore_disk.h"
#include "export/run_dir.h"
#include "virt/conn.h"
#include "instant.h"
#include "instant_copy.h"

/* How often the keeper looks at the VM. */
#define POLL_MS 200
/* How long a keeper has to stop after SIGTERM. */
#define STOP_S 15

int
instant_run_dir (const char *name, char *out, size_t len)
{
  char buf[4096];

  if ((size_t) snprintf (out, len, "%s/instant-%s",
                         run_dir_base (buf, sizeof buf), name)
      >= len) {
    set_error (ENAMETOOLONG, "run directory");
    return -1;
  }
  return 0;
}

bool
instant_keeper_running (const char *rundir)
{
  return run_dir_pid_is_ours (run_dir_keeper_pid (rundir));
}

void
instant_keeper_stop (const char *rundir)
{
  pid_t pid = run_dir_keeper_pid (rundir);

  if (!run_dir_pid_is_ours (pid))
    return;
  kill (pid, SIGTERM);
  for (int i = 0; i < STOP_S * 10 && run_dir_pid_is_ours (pid); i++) {
    waitpid (pid, NULL, WNOHANG); /* when it is our child */
    sleep_ms (100);
  }
  if (run_dir_pid_is_ours (pid))
    kill (pid, SIGKILL);
}

/* ---- in the keeper ---- */

static volatile sig_atomic_t stop_signal;

static void
on_stop (int sig)
{
  stop_signal = sig;
}

/* Write RUNDIR/NAME from text, atomically (a reader sees the old or the
 * new, whole). */
static void
write_file (const char *rundir, const char *name, const char *text)
{
  char path[4096], tmp[4200];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", rundir, name);
  snprintf (tmp, sizeof tmp, "%s.tmp", path);
  f = fopen (tmp, "w");
  if (f == NULL)
    return;
  fputs (text, f);
  if (fclose (f) == 0)
    rename (tmp, path);
  else
    unlink (tmp);
}

struct keeper_disk {
  struct instant_copy copy;
  pid_t export;
  bool pending; /* the VM's disk is still backed by the socket */
};

static void
write_progress (const struct instant_keeper_params *p,
                const struct keeper_disk *kd)
{
  struct strbuf sb = STRBUF_INIT;

  for (size_t i = 0; i < p->ndisks; i++)
    strbuf_addf (&sb, "%s %llu %llu\n", p->disks[i].target, kd[i].copy.copied,
                 kd[i].copy.total);
  if (sb.buf)
    write_file (p->rundir, "progress", sb.buf);
  strbuf_release (&sb);
}

enum outcome { DONE, VM_GONE, STOPPED };

/* Look after the VM until no disk needs the export, the VM is gone, or
 * we are stopped (why set in reason). */
static enum outcome
watch (const struct instant_keeper_params *p, struct keeper_disk *kd,
       char *reason, size_t len)
{
  virConnectPtr conn = NULL;

  for (;;) {
    virDomainPtr dom;
    char *xml;
    size_t pending = 0;

    if (stop_signal) {
      snprintf (reason, len, "stopped by signal %d", (int) stop_signal);
      break;
    }
    for (size_t i = 0; i < p->ndisks; i++)
      if (waitpid (kd[i].export, NULL, WNOHANG) == kd[i].export) {
        snprintf (reason, len, "the export of disk %s stopped",
                  p->disks[i].target);
        kd[i].export = -1;
        goto stopped;
      }
    if (conn == NULL || virConnectIsAlive (conn) != 1) {
      if (conn)
        virConnectClose (conn);
      conn = virt_connect (p->uri); /* libvirtd may be restarting */
      if (conn == NULL) {
        sleep_ms (POLL_MS);
        continue;
      }
    }
    dom = virDomainLookupByName (conn, p->vm);
    if (dom == NULL) {
      if (virConnectIsAlive (conn) == 1) {
        virConnectClose (conn);
        return VM_GONE;
      }
      sleep_ms (POLL_MS);
      continue;
    }
    xml = virDomainGetXMLDesc (dom, 0);
    for (size_t i = 0; xml && i < p->ndisks; i++) {
      kd[i].pending = strstr (xml, p->disks[i].socket) != NULL;
      if (kd[i].pending) {
        pending++;
        if (virDomainIsActive (dom) == 1)
          instant_copy_tend (p, dom, &kd[i].copy);
      }
      else if (kd[i].copy.total)
        kd[i].copy.copied = kd[i].copy.total;
    }
    virDomainFree (dom);
    if (xml)
      write_progress (p, kd);
    free (xml);
    if (xml && pending == 0) {
      virConnectClose (conn);
      return DONE;
    }
    sleep_ms (POLL_MS);
  }
stopped:
  if (conn)
    virConnectClose (conn);
  return STOPPED;
}

/* Start every export and give its socket to QEMU's user. */
static int
serve_disks (const struct instant_keeper_params *p, struct keeper_disk *kd)
{
  /* A killed keeper's nbdkits may still be stopping, or starting, at
   * our sockets' paths: gone before ours bind there.  (QEMU names the
   * run directory too: only nbdkit.) */
  if (run_dir_kill_holders (p->rundir, "nbdkit") > 0)
    sleep_ms (200);
  for (size_t i = 0; i < p->ndisks; i++) {
    struct export_params ep = {
      .plugin = p->io->plugin,
      .repo = p->io->repo,
      .backup = p->backup,
      .disk = p->disks[i].target,
      .socket = p->disks[i].socket,
      .event_log = p->events ? p->events->path : NULL,
      .key_fd = p->disks[i].key_fd,
    };
    unlink (p->disks[i].socket); /* a killed keeper's */
    kd[i].export = export_child_start (&ep, p->rundir);
    if (kd[i].export == -1
        || export_child_wait (kd[i].export, ep.socket) == -1) {
      set_error (0,
                 "the export of disk %s did not start (see "
                 "%s/export.log)",
                 p->disks[i].target, p->rundir);
      return -1;
    }
    if (chown (ep.socket, p->qemu_uid, p->qemu_gid) == -1
        || chmod (ep.socket, 0600) == -1) {
      set_error (errno, "give %s to QEMU's user", ep.socket);
      return -1;
    }
  }
  return 0;
}

/* What stopped fills left for the next keeper (restore --resume), no
 * longer of use once the copy is done or the VM gone. */
static void
remove_partial_fills (const struct instant_keeper_params *p)
{
  for (size_t i = 0; i < p->ndisks; i++)
    if (p->disks[i].path[0])
      restore_partial_remove (p->disks[i].path);
}

/* The exports and the fills that read them. */
static void
stop_exports (const struct instant_keeper_params *p, struct keeper_disk *kd)
{
  for (size_t i = 0; i < p->ndisks; i++) {
    instant_copy_stop (&kd[i].copy);
    export_child_stop (kd[i].export);
  }
}

static void __attribute__ ((noreturn))
keeper (const struct instant_keeper_params *p, int status_fd, int go_fd,
        pid_t parent)
{
  struct keeper_disk *kd = calloc (p->ndisks, sizeof *kd);
  struct sigaction sa = { .sa_handler = on_stop };
  char line[16] = "", reason[512] = "", path[4096];
  enum outcome o;
  int null;

  /* Until told to go, we die with the command: it undoes what it made. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent || kd == NULL)
    _exit (1);
  setsid ();
  null = open ("/dev/null", O_RDWR);
  dup2 (null, 0);
  dup2 (null, 1);
  dup2 (null, 2);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
  snprintf (path, sizeof path, "%d\n", (int) getpid ());
  write_file (p->rundir, "keeper.pid", path);
  snprintf (path, sizeof path, "vm %s\nbackup %s\n", p->vm, p->backup);
  write_file (p->rundir, "state", path);
  for (size_t i = 0; i < p->ndisks; i++) {
    instant_copy_init (&kd[i].copy, &p->disks[i]);
    kd[i].export = -1;
  }
  if (serve_disks (p, kd) == -1) {
    run_dir_say (status_fd, "error %s", get_error ());
    stop_exports (p, kd);
    _exit (1);
  }
  run_dir_say (status_fd, "ready");
  close (status_fd);
  if (read (go_fd, line, sizeof line - 1) <= 0
      || strncmp (line, "go", 2) != 0) {
    stop_exports (p, kd); /* the command failed: it cleans up */
    _exit (1);
  }
  /* Free of the command before it may exit: only then the answer. */
  prctl (PR_SET_PDEATHSIG, 0);
  run_dir_say (go_fd, "going");
  close (go_fd);
  o = watch (p, kd, reason, sizeof reason);
  stop_exports (p, kd);
  switch (o) {
    case DONE:
      /* A keeper killed between a pivot and its removal left one. */
      for (size_t i = 0; i < p->ndisks; i++)
        if (p->disks[i].path[0])
          unlink (p->disks[i].overlay);
      /* Whatever a stopped fill may have left. */
      remove_partial_fills (p);
      event_emit (p->events, EV_INSTANT_FINISHED,
                  "VM %s no longer needs backup %s: its disks are local",
                  p->vm, p->backup);
      run_dir_remove (p->rundir);
      _exit (0);
    case VM_GONE:
      event_emit (p->events, EV_INSTANT_STOPPED,
                  "VM %s was removed before its copy was done", p->vm);
      remove_partial_fills (p);
      run_dir_remove (p->rundir);
      _exit (0);
    case STOPPED:
      event_emit (p->events, EV_INSTANT_STOPPED,
                  "VM %s: %s before its copy was done; the guest gets "
                  "I/O errors for what is not copied yet: run the same "
                  "restore again to go on",
                  p->vm, reason);
      snprintf (path, sizeof path, "%s/keeper.pid", p->rundir);
      unlink (path);
      _exit (1);
  }
  _exit (1);
}

int
instant_keeper_start (const struct instant_keeper_params *p, int *go_fd)
{
  int status[2], go[2];
  char line[2048];
  pid_t parent = getpid (), pid;
  bool ready = false;
  FILE *in;

  if (pipe2 (status, O_CLOEXEC) == -1) {
    set_error (errno, "pipe");
    return -1;
  }
  /* Both ways: "go" there, "going" back. */
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) == -1) {
    set_error (errno, "socketpair");
    close (status[0]);
    close (status[1]);
    return -1;
  }
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid == 0) {
    close (status[0]);
    close (go[0]);
    keeper (p, status[1], go[1], parent);
  }
  close (status[1]);
  close (go[1]);
  if (pid == -1) {
    close (status[0]);
    close (go[0]);
    set_error (errno, "fork");
    return -1;
  }
  set_error (EIO, "the instant restore's background process died");
  in = fdopen (status[0], "r");
  while (in && !ready && fgets (line, sizeof line, in)) {
    line[strcspn (line, "\n")] = '\0';
    if (strcmp (line, "ready") == 0)
      ready = true;
    else if (strncmp (line, "error ", 6) == 0)
      set_error (0, "%s", line + 6);
  }
  if (in)
    fclose (in);
  else
    close (status[0]);
  if (!ready) {
    close (go[0]);
    waitpid (pid, NULL, 0);
    return -1;
  }
  *go_fd = go[0];
  return 0;
}
