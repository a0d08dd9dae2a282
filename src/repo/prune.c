/* Retention (see prune.h), the rule set restic and borg users know. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prune.h"

const char *const keep_kind_names[KEEP_KINDS] = {
  "last", "hourly", "daily", "weekly", "monthly", "yearly"
};

bool
keep_policy_empty (const struct keep_policy *p)
{
  for (int k = 0; k < KEEP_KINDS; k++)
    if (p->n[k] > 0)
      return false;
  return true;
}

/* The calendar bucket a time falls in, for one rule, as a number. */
static long long
bucket (enum keep_kind kind, time_t t, size_t index)
{
  static const char *fmt[] = {
    [KEEP_HOURLY] = "%Y%m%d%H", [KEEP_DAILY] = "%Y%m%d",
    [KEEP_WEEKLY] = "%G%V",     [KEEP_MONTHLY] = "%Y%m",
    [KEEP_YEARLY] = "%Y",
  };
  struct tm tm;
  char buf[32];

  if (kind == KEEP_LAST)
    return index; /* every backup is its own bucket */
  localtime_r (&t, &tm);
  strftime (buf, sizeof buf, fmt[kind], &tm);
  return strtoll (buf, NULL, 10);
}

void
prune_select (const struct keep_policy *p, const time_t *times, size_t n,
              bool *keep)
{
  memset (keep, 0, n * sizeof *keep);
  for (int k = 0; k < KEEP_KINDS; k++) {
    int left = p->n[k];
    long long last = -1;

    for (size_t i = 0; i < n && left > 0; i++) {
      long long b = bucket (k, times[i], i);
      if (b != last) {
        /* Newest first: the first backup seen in a bucket is its
         * newest, the one to keep. */
        keep[i] = true;
        last = b;
        left--;
      }
    }
  }
}
