/* libFuzzer harness for job files (src/jobs/job_parse.c): any text is
 * parsed or refused with an error naming a line, never crashes or
 * leaks; what is accepted has a repository and something to back up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "jobs/job.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = malloc (size + 1);
  struct job job;

  if (text == NULL)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0'; /* job_load refuses a NUL inside: text ends there */
  if (job_parse ("fuzz.conf", "fuzz", text, &job) == 0) {
    if (job.repository == NULL || (job.targets.len == 0 && !job.all_vms)
        || job.concurrency < 1 || job.concurrency > JOB_MAX_CONCURRENCY)
      abort ();
    job_free (&job);
  }
  else if (strncmp (get_error (), "fuzz.conf", 9) != 0)
    abort ();
  free (text);
  return 0;
}
