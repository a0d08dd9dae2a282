/* How VM backup and restore tell their caller what happens while they
 * run.  Decisions and failures go to the event log (common/events.h) and
 * errors are returned (common/error.h); this is for what only a person
 * at a terminal needs: warnings, progress bars and the one-line result.
 * The library never prints: cli/ fills these in and decides how each
 * looks.  Any member may be NULL (a caller that wants nothing of it). */
#ifndef VMB_VM_REPORT_H
#define VMB_VM_REPORT_H

#include <stdint.h>

#include "repo/manifest.h"

enum vm_report_level {
  VM_REPORT_NOTE,    /* for information (test hooks) */
  VM_REPORT_WARNING, /* something the user should know */
};

/* A restore's outcome, for its result line. */
struct vm_restore_result {
  const char *backup; /* the backup's ID */
  const char *vm;     /* the restored VM's name */
  size_t ndisks;
  bool config_only; /* the disks are blank */
  bool instant;     /* runs from the backup, copying in the background */
  bool resumed;     /* an instant restore that had stopped, resumed */
  bool running;     /* the same instant restore was running already */
  double seconds;
};

struct vm_report_ops {
  void (*message) (void *opaque, enum vm_report_level level, const char *msg);
  /* One disk (or image) is read or written at a time: begin, any number
   * of updates, end. */
  void (*progress_begin) (void *opaque, const char *label);
  void (*progress) (void *opaque, uint64_t done, uint64_t total);
  void (*progress_end) (void *opaque);
  /* A backup was committed: m is what it holds (kind "vm" or "image"). */
  void (*backed_up) (void *opaque, const struct manifest *m, double seconds);
  void (*restored) (void *opaque, const struct vm_restore_result *r);
};

struct vm_report {
  const struct vm_report_ops *ops;
  void *opaque;
};

void vm_report_message (const struct vm_report *rep,
                        enum vm_report_level level, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
void vm_report_progress_begin (const struct vm_report *rep, const char *label);
/* The engine's progress callback (opaque: the struct vm_report). */
void vm_report_progress (void *rep, uint64_t done, uint64_t total);
void vm_report_progress_end (const struct vm_report *rep);

#endif
