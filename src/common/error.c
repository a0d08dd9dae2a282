/* Thread-local error storage (see error.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

#define ERROR_MAX 1024

static __thread char last_error[ERROR_MAX];
static __thread int last_errno;
static __thread enum error_kind last_kind;

void
set_error (int errnum, const char *fmt, ...)
{
  va_list ap;
  char msg[ERROR_MAX];

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  if (errnum > 0)
    snprintf (last_error, sizeof last_error, "%s: %s", msg, strerror (errnum));
  else
    snprintf (last_error, sizeof last_error, "%s", msg);
  last_errno = errnum;
  last_kind = ERROR_OTHER;
}

void
set_error_errno (int errnum)
{
  last_errno = errnum;
}

void
set_error_kind (enum error_kind kind)
{
  last_kind = kind;
}

enum error_kind
get_error_kind (void)
{
  return last_kind;
}

void
error_prefix (const char *fmt, ...)
{
  va_list ap;
  char prefix[ERROR_MAX], old[ERROR_MAX];

  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  memcpy (old, last_error, sizeof old);
  snprintf (last_error, sizeof last_error, "%s: %s", prefix, old);
}

const char *
get_error (void)
{
  return last_error[0] ? last_error : "unknown error";
}

int
get_errno (void)
{
  return last_errno;
}
