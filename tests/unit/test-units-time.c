/* Backup times are shown and typed in UTC whatever the local zone, and
 * what format_time prints parse_time reads back. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/units.h"
#include "test.h"

static void
formats (time_t t, const char *want)
{
  char buf[64];
  time_t back = -1;

  format_time (t, buf, sizeof buf);
  CHECK (strcmp (buf, want) == 0, "format_time (%lld) = \"%s\", want \"%s\"",
         (long long) t, buf, want);
  CHECK (parse_time (buf, &back) == 0, "parse_time (\"%s\") rejected", buf);
  CHECK (back == t, "parse_time (\"%s\") = %lld, want %lld", buf,
         (long long) back, (long long) t);
}

static void
rejects (const char *s)
{
  time_t t = 42;

  CHECK (parse_time (s, &t) == -1, "parse_time (\"%s\") accepted (%lld)", s,
         (long long) t);
}

int
main (void)
{
  /* A zone far from UTC, written POSIX-style so no tzdata is needed:
   * any use of local time would shift the results by hours. */
  setenv ("TZ", "XYZ-9:30", 1);
  tzset ();

  formats (0, "1970-01-01T00:00:00Z");
  formats (951782400, "2000-02-29T00:00:00Z");
  formats (1795574803, "2026-11-25T02:46:43Z");
  formats (2147483648LL, "2038-01-19T03:14:08Z");

  /* Round trip over a spread of times, hours and seconds included. */
  for (int i = 0; i < 2000; i++) {
    time_t t = test_rand64 () % 4102444800ULL;  /* up to 2100 */
    char buf[64];
    time_t back = -1;

    format_time (t, buf, sizeof buf);
    CHECK (parse_time (buf, &back) == 0 && back == t,
           "\"%s\" from %lld reads back as %lld", buf, (long long) t,
           (long long) back);
  }

  rejects ("");
  rejects ("yesterday");
  rejects ("2026-11-25");
  rejects ("2026-11-25T02:46:43");
  rejects ("2026-11-25 02:46:43Z");
  rejects ("2026-11-25T02:46:43Zjunk");
  rejects ("2026-13-25T02:46:43Z");
  rejects ("2026-11-25T25:46:43Z");
  return 0;
}
