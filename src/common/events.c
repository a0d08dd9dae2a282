/* Event log (see events.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "events.h"
#include "fsutil.h"
#include "units.h"

const struct event_def event_catalogue[] = {
  { EV_BACKUP_STARTED, SEV_INFO, "backup started" },
  { EV_BACKUP_FINISHED, SEV_INFO, "backup finished" },
  { EV_BACKUP_FAILED, SEV_ERROR, "backup failed" },
  { EV_FROZEN, SEV_INFO, "guest filesystems frozen" },
  { EV_THAWED, SEV_INFO, "guest filesystems thawed" },
  { EV_AGENT_MISSING, SEV_WARNING,
    "guest agent not answering: offline backup" },
  { EV_AGENT_NO_FREEZE, SEV_WARNING,
    "guest agent cannot freeze: offline backup" },
  { EV_FS_NOT_FREEZABLE, SEV_WARNING,
    "filesystem not freezable: offline backup" },
  { EV_FREEZE_FAILED, SEV_WARNING,
    "freeze failed or timed out: offline backup" },
  { EV_NO_SCRATCH, SEV_WARNING,
    "no scratch space beside a disk: offline backup" },
  { EV_SUSPENDED, SEV_INFO, "VM suspended for the point-in-time copy" },
  { EV_DOWNTIME_HIGH, SEV_WARNING, "downtime over threshold" },
  { EV_PAUSED_KEPT, SEV_INFO, "paused VM backed up and left paused" },
  { EV_DISK_EXCLUDED, SEV_WARNING, "disk excluded from the host backup" },
  { EV_BOOT_FILE_MISSING, SEV_WARNING,
    "boot file missing: not in the backup" },
  { EV_SHUT_OFF, SEV_INFO, "shut-off VM: disks read directly" },
  { EV_CRASH_CONSISTENT, SEV_WARNING, "crash-consistent backup (no freeze)" },
  { EV_INCREMENTAL, SEV_INFO, "incremental: only changed blocks read" },
  { EV_FULL_READ, SEV_INFO, "disk read whole" },
  { EV_CHECKPOINT_GONE, SEV_WARNING, "checkpoint gone: full read" },
  { EV_BITMAP_BROKEN, SEV_WARNING,
    "dirty bitmap inconsistent or not saved: full read" },
  { EV_VM_RESTARTED, SEV_WARNING, "VM restarted or migrated: full read" },
  { EV_DISK_CHANGED, SEV_WARNING, "disk added, removed, resized or replaced" },
  { EV_PREVIOUS_UNUSABLE, SEV_WARNING,
    "previous backup pruned or damaged: full read" },
  { EV_OTHER_REPOSITORY, SEV_WARNING,
    "checkpoint made for another repository: full read" },
  { EV_CHECKPOINTS_DELETED, SEV_INFO, "old checkpoints deleted" },
  { EV_CHECKPOINT_DELETE_FAILED, SEV_WARNING,
    "checkpoint could not be deleted" },
  { EV_RESTORE_STARTED, SEV_INFO, "restore started" },
  { EV_RESTORE_FINISHED, SEV_INFO, "restore finished" },
  { EV_RESTORE_FAILED, SEV_ERROR, "restore failed" },
  { EV_RESTORE_RESUMED, SEV_INFO, "restore goes on from an earlier one" },
  { EV_RESTORE_UNCLEAN, SEV_WARNING,
    "restored guest may report an unclean shutdown" },
  { EV_RESTORE_REPLACED, SEV_WARNING, "existing VM turned off and replaced" },
  { EV_RESTORE_DEVICE, SEV_INFO, "disk written into its block device" },
  { EV_BOOT_FILE_RESTORED, SEV_INFO, "missing boot file put back" },
  { EV_BOOT_FILE_DIFFERS, SEV_WARNING,
    "boot file differs from the backup's: the host's kept" },
  { EV_EXPORT_READ_FAILED, SEV_ERROR, "export: read failed, EIO served" },
  { EV_FILE_CHANGED, SEV_WARNING, "file changed while it was read" },
  { EV_FILE_UNREADABLE, SEV_WARNING, "file unreadable: left out" },
  { EV_FILE_VANISHED, SEV_INFO, "file disappeared during the backup" },
  { EV_FILE_SOCKET, SEV_INFO, "socket not backed up" },
  { EV_FILE_OTHER_FS, SEV_INFO, "other file system not entered" },
  { EV_FILE_NO_XATTRS, SEV_WARNING, "extended attributes unreadable" },
  { EV_FILE_RESTORE_NO_OWNER, SEV_WARNING, "ownership not restored" },
  { EV_FILE_RESTORE_NO_DEVICES, SEV_WARNING, "device nodes not restored" },
  { EV_FILE_RESTORE_NO_XATTRS, SEV_WARNING,
    "extended attributes not restored" },
  { EV_FILE_RESTORE_ERROR, SEV_ERROR, "file not restored" },
  { EV_JOB_STARTED, SEV_INFO, "job run started" },
  { EV_JOB_FINISHED, SEV_INFO, "job run finished" },
  { EV_JOB_FAILED, SEV_ERROR, "job run failed" },
  { EV_JOB_TARGET_FAILED, SEV_ERROR, "job target not backed up" },
  { EV_JOB_PRUNE_FAILED, SEV_ERROR, "job retention not applied" },
  { EV_JOB_VERIFY_PROBLEMS, SEV_ERROR, "job verify found problems" },
  { EV_JOB_NOTIFY_FAILED, SEV_WARNING, "job notify command failed" },
  { EV_JOB_RESTORE_TEST_FAILED, SEV_ERROR, "job restore test failed" },
  { EV_JOB_COPY_FAILED, SEV_ERROR, "job copy failed" },
  { EV_HOST_RESTORED, SEV_INFO, "host object restored" },
  { EV_HOST_KEPT, SEV_INFO, "host object already there: kept" },
  { EV_HOST_REPLACED, SEV_WARNING, "host object replaced by the backup's" },
  { EV_HOST_NOT_RESTORED, SEV_INFO, "host object kept for the record only" },
  { EV_HOST_RESTORE_FAILED, SEV_ERROR, "host object not restored" },
  { EV_HOST_SECRET_NO_VALUE, SEV_WARNING, "secret kept without its value" },
  { EV_RT_STARTED, SEV_INFO, "restore test started" },
  { EV_RT_RESTORED, SEV_INFO, "restore test: VM restored, isolated" },
  { EV_RT_AGENT, SEV_INFO, "restore test: guest agent answered" },
  { EV_RT_CHECK_PASSED, SEV_INFO, "restore test: check passed" },
  { EV_RT_CHECK_FAILED, SEV_ERROR, "restore test: check failed" },
  { EV_RT_PASSED, SEV_INFO, "restore test passed" },
  { EV_RT_FAILED, SEV_ERROR, "restore test failed" },
  { EV_RT_LEFTOVER_REMOVED, SEV_WARNING,
    "restore test: a dead run's leftovers removed" },
  { EV_RT_CLEANUP_FAILED, SEV_ERROR, "restore test: cleanup failed" },
  { EV_INSTANT_RUNNING, SEV_INFO,
    "instant restore: VM running from the backup" },
  { EV_INSTANT_COPY_STARTED, SEV_INFO, "instant restore: copy started" },
  { EV_INSTANT_FINISHED, SEV_INFO, "instant restore: copy done" },
  { EV_INSTANT_RESUMED, SEV_WARNING, "instant restore: resumed" },
  { EV_INSTANT_STOPPED, SEV_ERROR,
    "instant restore: stopped before the copy was done" },
  { EV_INSTANT_COPY_RETRY, SEV_WARNING,
    "instant restore: copy started again" },
  { EV_INSTANT_DISK_LOCAL, SEV_INFO,
    "instant restore: a disk runs on its local copy" },
  { EV_INSTANT_WRITES_COPYING, SEV_INFO,
    "instant restore: backup local, the guest's writes being copied" },
  { EV_COPY_STARTED, SEV_INFO, "copy started" },
  { EV_COPY_BACKUP_COPIED, SEV_INFO, "backup copied" },
  { EV_COPY_BACKUP_SKIPPED, SEV_INFO,
    "backup already in the target: skipped" },
  { EV_COPY_BACKUP_FAILED, SEV_ERROR, "backup not copied" },
  { EV_COPY_FINISHED, SEV_INFO, "copy finished" },
  { EV_PRUNE_LOCKED, SEV_INFO, "backup kept by Object Lock: not pruned" },
  { EV_GC_LOCKED, SEV_INFO, "objects kept by Object Lock: not deleted" },
  { 0, 0, NULL },
};

const struct event_def *
event_lookup (int id)
{
  for (const struct event_def *d = event_catalogue; d->id; d++)
    if (d->id == id)
      return d;
  return NULL;
}

const char *
severity_name (enum severity s)
{
  return s == SEV_ERROR ? "error" : s == SEV_WARNING ? "warning" : "info";
}

static int
mkdir_parents (const char *path)
{
  CLEANUP_FREE char *copy = strdup (path);
  char *p;

  if (copy == NULL)
    return -1;
  for (p = copy + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir (copy, 0750) == -1 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return 0;
}

int
event_log_open (struct event_log *log, const char *path)
{
  memset (log, 0, sizeof *log);
  log->fd = -1;
  if (path == NULL)
    path = getenv ("VMBACKUP_EVENT_LOG");
  if (path == NULL || path[0] == '\0')
    path = DEFAULT_EVENT_LOG;
  log->path = strdup (path);
  if (log->path == NULL || mkdir_parents (path) == -1
      || (log->fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                          0640))
        == -1) {
    set_error (errno, "event log %s", path);
    free (log->path);
    log->path = NULL;
    return -1;
  }
  return 0;
}

void
event_log_close (struct event_log *log)
{
  if (log->fd >= 0)
    close (log->fd);
  log->fd = -1;
  free (log->path);
  log->path = NULL;
  strbuf_release (&log->lines);
}

void
event_log_reset (struct event_log *log, const char *vm, const char *backup)
{
  log->vm = vm;
  log->backup = backup;
  log->warnings = log->errors = 0;
  strbuf_release (&log->lines);
}

void
event_emit (struct event_log *log, int id, const char *fmt, ...)
{
  const struct event_def *def = event_lookup (id);
  struct strbuf line = STRBUF_INIT, msg = STRBUF_INIT;
  char t[32];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  if (n >= 0) {
    char *buf = malloc (n + 1);
    if (buf) {
      va_start (ap, fmt);
      vsnprintf (buf, n + 1, fmt, ap);
      va_end (ap);
      strbuf_addstr (&msg, buf);
      free (buf);
    }
  }
  strbuf_addf (&line,
               "{\"time\": \"%s\", \"id\": %d, \"severity\": \"%s\", "
               "\"vm\": ",
               format_time (time (NULL), t, sizeof t), id,
               severity_name (def ? def->severity : SEV_ERROR));
  strbuf_add_json_string (&line, log->vm ? log->vm : "");
  strbuf_addstr (&line, ", \"backup\": ");
  strbuf_add_json_string (&line, log->backup ? log->backup : "");
  strbuf_addstr (&line, ", \"message\": ");
  strbuf_add_json_string (&line, msg.buf);
  strbuf_addstr (&line, "}\n");
  /* One write per line: O_APPEND keeps concurrent writers' lines whole. */
  if (log->fd >= 0)
    write_full (log->fd, line.buf, line.len, -1);
  strbuf_add (&log->lines, line.buf, line.len);
  if (def && def->severity == SEV_WARNING)
    log->warnings++;
  if (!def || def->severity == SEV_ERROR)
    log->errors++;
  strbuf_release (&line);
  strbuf_release (&msg);
}
