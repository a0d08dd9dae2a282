/* Sizes and times (see units.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "units.h"

int
parse_size (const char *s, uint64_t *out)
{
  /* "", "b", or a prefix alone or followed by "ib" or "b". */
  static const char prefixes[] = "kmgt";
  unsigned shift = 0;
  char *end;
  unsigned long long v;

  if (s[0] < '0' || s[0] > '9')
    return -1;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno)
    return -1;
  if (*end && strcasecmp (end, "b") != 0) {
    const char *p = strchr (prefixes, tolower ((unsigned char) *end));
    if (!p
        || (end[1] && strcasecmp (end + 1, "ib") != 0
            && strcasecmp (end + 1, "b") != 0))
      return -1;
    shift = 10 * (p - prefixes + 1);
  }
  if (__builtin_mul_overflow (v, 1ULL << shift, &v))
    return -1;
  *out = v;
  return 0;
}

const char *
format_size (uint64_t bytes, char *buf, size_t len)
{
  static const char *names[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
  double v = bytes;
  size_t i = 0;

  while (v >= 1024 && i < 5) {
    v /= 1024;
    i++;
  }
  if (i == 0)
    snprintf (buf, len, "%llu B", (unsigned long long) bytes);
  else
    snprintf (buf, len, "%.1f %s", v, names[i]);
  return buf;
}

const char *
format_time (time_t t, char *buf, size_t len)
{
  struct tm tm;

  gmtime_r (&t, &tm);
  strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int
parse_time (const char *s, time_t *out)
{
  struct tm tm;
  const char *end;

  memset (&tm, 0, sizeof tm);
  end = strptime (s, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == NULL || *end != '\0')
    return -1;
  *out = timegm (&tm);
  return 0;
}

double
now_monotonic (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}
