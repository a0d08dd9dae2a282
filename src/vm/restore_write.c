/* Writing a restored VM's disks: image files beside their final paths
 * (with their internal snapshots), and block devices in place. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "engine/restore_disk.h"
#include "restore_run.h"

int
restore_run_quiet (char *const argv[])
{
  pid_t pid = fork ();
  int status;

  if (pid == 0) {
    /* Not the signals the restore holds back: qemu-img's LUKS key
     * derivation times itself with them ("Unable to get accurate CPU
     * usage" otherwise). */
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    int null = open ("/dev/null", O_WRONLY);
    if (null != -1) {
      dup2 (null, 1);
      dup2 (null, 2);
    }
    execvp (argv[0], argv);
    _exit (127);
  }
  if (pid == -1 || waitpid (pid, &status, 0) == -1)
    return -1;
  return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

static const struct manifest_disk *
find_state (const struct manifest *m, const char *target, const char *snap)
{
  char name[512];

  snprintf (name, sizeof name, "%s@%s", target, snap);
  for (size_t i = 0; i < m->disks.len; i++)
    if (strcmp (m->disks.ptr[i].name, name) == 0)
      return &m->disks.ptr[i];
  return NULL;
}

static int
restore_layer (struct vm_restore *r, const struct manifest_disk *md,
               const char *path, bool overwrite)
{
  int ret;

  vm_report_progress_begin (r->o->report, md->name);
  struct restore_disk_params p = {
    .repo = r->repo,
    .disk = md,
    .path = path,
    .format = md->format,
    .overwrite = overwrite,
    .progress = vm_report_progress,
    .progress_opaque = (void *) r->o->report,
  };
  ret = restore_disk (&p);
  vm_report_progress_end (r->o->report);
  return ret;
}

/* A qcow2 disk whose backup holds internal snapshots: write each
 * snapshot's state in order (parents first) and snapshot it, then the
 * current state on top, so reverting works on the restored VM. */
static int
write_with_snapshots (struct vm_restore *r, struct planned_disk *pd,
                      bool *done)
{
  char size[32];
  bool created = false;

  *done = false;
  for (size_t i = 0; i < r->m->files.len; i++) {
    const struct manifest_file *f = &r->m->files.ptr[i];
    const struct manifest_disk *state;

    if (strncmp (f->role, "snapshot", 8) != 0
        || (state = find_state (r->m, pd->md->name, f->path)) == NULL)
      continue;
    if (!created) {
      snprintf (size, sizeof size, "%llu", (unsigned long long) pd->md->size);
      char *argv[] = { "qemu-img", "create",   "-q", "-f",
                       "qcow2",    pd->staged, size, NULL };
      if (restore_run_quiet (argv) == -1) {
        set_error (0, "qemu-img create %s failed", pd->staged);
        return -1;
      }
      created = pd->written = true;
    }
    if (restore_layer (r, state, pd->staged, true) == -1)
      return -1;
    char *argv[] = { "qemu-img", "snapshot", "-q", "-c",
                     f->path,    pd->staged, NULL };
    if (restore_run_quiet (argv) == -1) {
      set_error (0, "disk %s: qemu-img snapshot -c %s failed", pd->md->name,
                 f->path);
      return -1;
    }
  }
  if (!created)
    return 0;
  *done = true;
  return restore_layer (r, pd->md, pd->staged, true);
}

int
restore_write_disks (struct vm_restore *r)
{
  for (size_t i = 0; i < r->plan.ndisks; i++) {
    struct planned_disk *pd = &r->plan.disks[i];

    if (pd->in_place)
      continue;          /* written once its VM is gone */
    unlink (pd->staged); /* from an earlier killed restore */
    if (r->o->config_only) {
      char size[32];
      snprintf (size, sizeof size, "%llu", (unsigned long long) pd->md->size);
      char *argv[] = { "qemu-img",     "create",   "-q", "-f",
                       pd->md->format, pd->staged, size, NULL };
      if (restore_run_quiet (argv) == -1) {
        set_error (0, "disk %s: qemu-img create %s failed", pd->md->name,
                   pd->staged);
        return -1;
      }
    }
    else {
      bool done = false;
      if (strcmp (pd->md->format, "qcow2") == 0
          && write_with_snapshots (r, pd, &done) == -1)
        return -1;
      if (!done && restore_layer (r, pd->md, pd->staged, false) == -1)
        return -1;
    }
    pd->written = true;
    if (restore_luks (r, pd) == -1)
      return -1;
  }
  return 0;
}

/* Stage 2b: block devices, now that no VM uses them: every byte, zeros
 * included (the device holds the old data).  --config-only leaves them
 * as they are: they exist, large enough, for the in-guest restore. */
int
restore_write_devices (struct vm_restore *r)
{
  for (size_t i = 0; i < r->plan.ndisks; i++) {
    struct planned_disk *pd = &r->plan.disks[i];

    if (!pd->in_place || r->o->config_only)
      continue;
    if (restore_layer (r, pd->md, pd->path, true) == -1)
      return -1;
    emit (r, EV_RESTORE_DEVICE, "disk %s written into block device %s",
          pd->md->name, pd->path);
  }
  return 0;
}
