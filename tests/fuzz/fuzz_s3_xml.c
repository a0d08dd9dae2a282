/* libFuzzer harness for what an S3 server answers: ListObjectsV2 pages
 * and error bodies (src/backend/s3/s3_xml.c).  Every key a page hands on
 * must lie inside the repository prefix, be non-empty once the prefix is
 * taken off, and a continuation token, when given, must be non-empty;
 * the error code and message must be NUL-terminated single lines within
 * their buffers.  A violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/s3/s3_xml.h"

static int
check_key (void *opaque, const char *key, uint64_t size, time_t mtime)
{
  (void) opaque;
  (void) size;
  (void) mtime;
  if (key[0] == '\0')
    abort ();
  return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char code[32], message[64], *next = NULL;

  s3_xml_error ((const char *) data, size, code, sizeof code, message,
                sizeof message);
  if (memchr (code, '\0', sizeof code) == NULL
      || memchr (message, '\0', sizeof message) == NULL || strchr (code, '\n')
      || strchr (message, '\n'))
    abort ();
  if (s3_xml_list_page ((const char *) data, size, "repo/", check_key, NULL,
                        &next)
        == 0
      && next && next[0] == '\0')
    abort ();
  free (next);
  return 0;
}
