/* Calling the caller's report operations (report.h), any of which may be
 * missing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"

void
vm_report_message (const struct vm_report *rep, enum vm_report_level level,
                   const char *fmt, ...)
{
  char msg[1024];
  va_list ap;

  if (rep == NULL || rep->ops == NULL || rep->ops->message == NULL)
    return;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  rep->ops->message (rep->opaque, level, msg);
}

void
vm_report_progress_begin (const struct vm_report *rep, const char *label)
{
  if (rep && rep->ops && rep->ops->progress_begin)
    rep->ops->progress_begin (rep->opaque, label);
}

void
vm_report_progress (void *opaque, uint64_t done, uint64_t total)
{
  const struct vm_report *rep = opaque;

  if (rep && rep->ops && rep->ops->progress)
    rep->ops->progress (rep->opaque, done, total);
}

void
vm_report_progress_end (const struct vm_report *rep)
{
  if (rep && rep->ops && rep->ops->progress_end)
    rep->ops->progress_end (rep->opaque);
}
