/* Retention policy: which backups of one name to keep.  Pure logic, so
 * it is tested without a repository. */
#ifndef VMB_PRUNE_H
#define VMB_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum keep_kind {
  KEEP_LAST,
  KEEP_HOURLY,
  KEEP_DAILY,
  KEEP_WEEKLY,
  KEEP_MONTHLY,
  KEEP_YEARLY,
  KEEP_KINDS
};

struct keep_policy {
  int n[KEEP_KINDS]; /* 0: this rule keeps nothing */
};

/* "last", "hourly", ...: the rules' names in --keep-NAME and keep-NAME. */
extern const char *const keep_kind_names[KEEP_KINDS];

bool keep_policy_empty (const struct keep_policy *p);

/* times[] is sorted newest first; keep[i] is set for every backup some
 * rule keeps: the newest backup of each of the n most recent hours,
 * days, ISO weeks, months or years that have one (local time). */
void prune_select (const struct keep_policy *p, const time_t *times, size_t n,
                   bool *keep);

#endif
