/* Sizes and times as users type and read them. */
#ifndef VMB_UNITS_H
#define VMB_UNITS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "4M", "64KiB", "1048576" -> bytes.  Returns -1 on bad input. */
int parse_size (const char *s, uint64_t *out);
/* "1.5 GiB" into buf. */
const char *format_size (uint64_t bytes, char *buf, size_t len);
/* UTC "2026-11-25T02:34:03Z". */
const char *format_time (time_t t, char *buf, size_t len);
/* Parse format_time's output back; -1 on bad input. */
int parse_time (const char *s, time_t *out);
/* Monotonic seconds, for rates and durations. */
double now_monotonic (void);

#endif
