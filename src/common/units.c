/* Sizes and times (see units.h). */
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
  static const struct {
    const char *suffix;
    uint64_t mult;
  } units[] = {
    { "", 1 },
    { "b", 1 },
    { "k", 1ULL << 10 },
    { "kib", 1ULL << 10 },
    { "kb", 1ULL << 10 },
    { "m", 1ULL << 20 },
    { "mib", 1ULL << 20 },
    { "mb", 1ULL << 20 },
    { "g", 1ULL << 30 },
    { "gib", 1ULL << 30 },
    { "gb", 1ULL << 30 },
    { "t", 1ULL << 40 },
    { "tib", 1ULL << 40 },
    { "tb", 1ULL << 40 },
  };
  char *end;
  unsigned long long v;

  if (s[0] < '0' || s[0] > '9')
    return -1;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno)
    return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp (end, units[i].suffix) == 0) {
      if (__builtin_mul_overflow (v, units[i].mult, &v))
        return -1;
      *out = v;
      return 0;
    }
  }
  return -1;
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
