/* Structured events: every backup (and later restore) reports what it
 * decided and what went wrong as numbered events, appended to a host log
 * (one JSON object per line) and kept in the backup itself.  The IDs are
 * a public contract: docs/events.pod says, for each, the cause, what to
 * do, and whether it can be ignored. */
#ifndef VMB_EVENTS_H
#define VMB_EVENTS_H

#include <stdbool.h>
#include <time.h>

#include "strbuf.h"

#define DEFAULT_EVENT_LOG "/var/log/vmbackup/events.log"

enum severity { SEV_INFO, SEV_WARNING, SEV_ERROR };

enum event_id {
  EV_BACKUP_STARTED = 1000,
  EV_BACKUP_FINISHED = 1001,
  EV_BACKUP_FAILED = 1002,
  EV_FROZEN = 1010,
  EV_THAWED = 1011,
  EV_AGENT_MISSING = 1020,
  EV_AGENT_NO_FREEZE = 1021,
  EV_FS_NOT_FREEZABLE = 1022,
  EV_FREEZE_FAILED = 1023,
  EV_NO_SCRATCH = 1024,
  EV_SUSPENDED = 1030,
  EV_DOWNTIME_HIGH = 1031,
  EV_PAUSED_KEPT = 1032,
  EV_DISK_EXCLUDED = 1040,
  EV_BOOT_FILE_MISSING = 1041,
  EV_SHUT_OFF = 1050,
  EV_CRASH_CONSISTENT = 1060,
  EV_INCREMENTAL = 1070,
  EV_FULL_READ = 1071,
  EV_CHECKPOINT_GONE = 1072,
  EV_BITMAP_BROKEN = 1073,
  EV_VM_RESTARTED = 1074,
  EV_DISK_CHANGED = 1075,
  EV_PREVIOUS_UNUSABLE = 1076,
  EV_OTHER_REPOSITORY = 1077,
  EV_CHECKPOINTS_DELETED = 1078,
  EV_CHECKPOINT_DELETE_FAILED = 1079,
  EV_RESTORE_STARTED = 2000,
  EV_RESTORE_FINISHED = 2001,
  EV_RESTORE_FAILED = 2002,
  EV_RESTORE_RESUMED = 2003,
  EV_RESTORE_UNCLEAN = 2010,
  EV_RESTORE_REPLACED = 2020,
  EV_RESTORE_DEVICE = 2021,
  EV_BOOT_FILE_RESTORED = 2030,
  EV_BOOT_FILE_DIFFERS = 2031,
  EV_EXPORT_READ_FAILED = 2040,
  /* File backups and restores (vmbackup files). */
  EV_FILE_CHANGED = 3000,
  EV_FILE_UNREADABLE = 3001,
  EV_FILE_VANISHED = 3002,
  EV_FILE_SOCKET = 3003,
  EV_FILE_OTHER_FS = 3004,
  EV_FILE_NO_XATTRS = 3005,
  EV_FILE_RESTORE_NO_OWNER = 3010,
  EV_FILE_RESTORE_NO_DEVICES = 3011,
  EV_FILE_RESTORE_NO_XATTRS = 3012,
  EV_FILE_RESTORE_ERROR = 3013,
  /* Scheduled jobs (vmbackup job run). */
  EV_JOB_STARTED = 4000,
  EV_JOB_FINISHED = 4001,
  EV_JOB_FAILED = 4002,
  EV_JOB_TARGET_FAILED = 4003,
  EV_JOB_PRUNE_FAILED = 4004,
  EV_JOB_VERIFY_PROBLEMS = 4005,
  EV_JOB_NOTIFY_FAILED = 4006,
  EV_JOB_RESTORE_TEST_FAILED = 4007,
  EV_JOB_COPY_FAILED = 4008,
  EV_HOST_RESTORED = 6000,
  EV_HOST_KEPT = 6001,
  EV_HOST_REPLACED = 6002,
  EV_HOST_NOT_RESTORED = 6003,
  EV_HOST_RESTORE_FAILED = 6004,
  EV_HOST_SECRET_NO_VALUE = 6010,
  /* Restore tests (vmbackup restore-test). */
  EV_RT_STARTED = 6100,
  EV_RT_RESTORED = 6101,
  EV_RT_AGENT = 6102,
  EV_RT_CHECK_PASSED = 6103,
  EV_RT_CHECK_FAILED = 6104,
  EV_RT_PASSED = 6105,
  EV_RT_FAILED = 6106,
  EV_RT_LEFTOVER_REMOVED = 6110,
  EV_RT_CLEANUP_FAILED = 6111,
  /* Instant recovery (vmbackup restore --instant). */
  EV_INSTANT_RUNNING = 6200,
  EV_INSTANT_COPY_STARTED = 6201,
  EV_INSTANT_FINISHED = 6202,
  EV_INSTANT_RESUMED = 6203,
  EV_INSTANT_STOPPED = 6204,
  EV_INSTANT_COPY_RETRY = 6205,
  EV_INSTANT_DISK_LOCAL = 6206,
  EV_INSTANT_WRITES_COPYING = 6207,
  /* Copies between repositories (vmbackup copy). */
  EV_COPY_STARTED = 4100,
  EV_COPY_BACKUP_COPIED = 4101,
  EV_COPY_BACKUP_SKIPPED = 4102,
  EV_COPY_BACKUP_FAILED = 4103,
  EV_COPY_FINISHED = 4104,
  /* Immutable (S3 Object Lock) repositories. */
  EV_PRUNE_LOCKED = 4200,
  EV_GC_LOCKED = 4201,
};

struct event_def {
  int id;
  enum severity severity;
  const char *name;
};
/* Every event vmbackup can write, ending with { 0 }. */
extern const struct event_def event_catalogue[];
const struct event_def *event_lookup (int id);
const char *severity_name (enum severity s);

struct event_log {
  int fd; /* host log, or -1 */
  char *path;
  const char *vm; /* context of the events that follow */
  const char *backup;
  struct strbuf lines; /* this operation's events, for the backup */
  unsigned warnings, errors;
};

/* Open (creating its directory) the host log: path, else
 * $VMBACKUP_EVENT_LOG, else DEFAULT_EVENT_LOG.  A log that cannot be
 * opened is an error: an admin relies on it. */
int event_log_open (struct event_log *log, const char *path);
void event_log_close (struct event_log *log);
/* Start a new operation's list (the host log keeps everything). */
void event_log_reset (struct event_log *log, const char *vm,
                      const char *backup);
void event_emit (struct event_log *log, int id, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

#endif
