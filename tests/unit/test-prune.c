/* Retention rules keep what restic and borg users expect: keep-last
 * counts backups, keep-daily and friends count calendar periods that
 * have a backup and keep the newest in each, and rules add up. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "repo/prune.h"
#include "test.h"

#define HOUR 3600
#define DAY (24 * HOUR)
/* 2026-11-25T00:00:00Z, a Wednesday. */
#define BASE ((time_t) 1795564800)

/* keep[] must be exactly the indexes listed in want (ended by -1). */
static void
expect (const struct keep_policy *p, const time_t *times, size_t n,
        const int *want, const char *what)
{
  bool keep[64], should[64] = { false };

  CHECK (n <= 64, "too many");
  for (const int *w = want; *w >= 0; w++)
    should[*w] = true;
  memset (keep, 0xff, sizeof keep);
  prune_select (p, times, n, keep);
  for (size_t i = 0; i < n; i++)
    CHECK (keep[i] == should[i], "%s: backup %zu is %s, should be %s", what,
           i, keep[i] ? "kept" : "deleted", should[i] ? "kept" : "deleted");
}

int
main (void)
{
  time_t ten[10], days[7], sparse[4], months[5];

  setenv ("TZ", "UTC", 1);
  tzset ();

  for (int i = 0; i < 10; i++)
    ten[i] = BASE - i * HOUR;           /* newest first */
  {
    struct keep_policy p = { .n[KEEP_LAST] = 3 };
    expect (&p, ten, 10, (int[]) { 0, 1, 2, -1 }, "keep-last 3 of 10");
  }
  {
    struct keep_policy p = { .n[KEEP_LAST] = 20 };
    expect (&p, ten, 10, (int[]) { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1 },
            "keep-last 20 of 10");
  }
  {
    struct keep_policy p = { .n[KEEP_LAST] = 3 };
    expect (&p, ten, 0, (int[]) { -1 }, "no backups at all");
  }

  /* Three backups on the 27th, two on the 26th, two on the 25th. */
  days[0] = BASE + 2 * DAY + 18 * HOUR;
  days[1] = BASE + 2 * DAY + 12 * HOUR;
  days[2] = BASE + 2 * DAY + 0 * HOUR;
  days[3] = BASE + 1 * DAY + 23 * HOUR + 59 * 60;
  days[4] = BASE + 1 * DAY + 1;
  days[5] = BASE + 0 * DAY + 20 * HOUR;
  days[6] = BASE + 0 * DAY + 8 * HOUR;
  {
    struct keep_policy p = { .n[KEEP_DAILY] = 2 };
    expect (&p, days, 7, (int[]) { 0, 3, -1 }, "keep-daily 2");
  }
  {
    struct keep_policy p = { .n[KEEP_DAILY] = 2, .n[KEEP_LAST] = 2 };
    expect (&p, days, 7, (int[]) { 0, 1, 3, -1 },
            "keep-daily 2 + keep-last 2");
  }
  {
    struct keep_policy p = { .n[KEEP_DAILY] = 1, .n[KEEP_HOURLY] = 4 };
    expect (&p, days, 7, (int[]) { 0, 1, 2, 3, -1 },
            "keep-daily 1 + keep-hourly 4");
  }
  {
    /* All of it falls in one ISO week (Wednesday to Friday). */
    struct keep_policy p = { .n[KEEP_WEEKLY] = 5, .n[KEEP_DAILY] = 3 };
    expect (&p, days, 7, (int[]) { 0, 3, 5, -1 },
            "keep-weekly 5 + keep-daily 3");
  }

  /* Days without a backup do not use up the count. */
  sparse[0] = BASE + 20 * DAY;
  sparse[1] = BASE + 10 * DAY;
  sparse[2] = BASE + 10 * DAY - HOUR;
  sparse[3] = BASE;
  {
    struct keep_policy p = { .n[KEEP_DAILY] = 2 };
    expect (&p, sparse, 4, (int[]) { 0, 1, -1 }, "keep-daily 2, gaps");
  }

  /* Months: 2026-11, 2026-11, 2026-10, 2026-01, 2025-12. */
  months[0] = BASE;
  months[1] = BASE - 20 * DAY;
  months[2] = BASE - 40 * DAY;
  months[3] = BASE - 320 * DAY;
  months[4] = BASE - 350 * DAY;
  {
    struct keep_policy p = { .n[KEEP_MONTHLY] = 3 };
    expect (&p, months, 5, (int[]) { 0, 2, 3, -1 }, "keep-monthly 3");
  }
  {
    struct keep_policy p = { .n[KEEP_YEARLY] = 2 };
    expect (&p, months, 5, (int[]) { 0, 4, -1 }, "keep-yearly 2");
  }

  {
    struct keep_policy p = { { 0 } };
    CHECK (keep_policy_empty (&p), "all-zero policy not empty");
    expect (&p, ten, 10, (int[]) { -1 }, "empty policy");
    for (int k = 0; k < KEEP_KINDS; k++) {
      struct keep_policy q = { { 0 } };
      q.n[k] = 1;
      CHECK (!keep_policy_empty (&q), "policy with rule %d = 1 empty", k);
    }
  }
  return 0;
}
