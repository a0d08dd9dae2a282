/* The progress record of a resumable restore (see restore_resume.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "restore_resume.h"

#define RECORD_MAGIC "vmbackup-restore-progress 1"
/* A record is one short line; anything longer is not ours. */
#define RECORD_MAX 256

int
restore_resume_record_path (const char *partial, char *out, size_t len)
{
  int n = snprintf (out, len, "%s.progress", partial);

  return n < 0 || (size_t) n >= len ? -1 : 0;
}

uint64_t
restore_resume_load (const char *path, const struct digest *index,
                     const char *format, uint64_t chunk_count)
{
  char want[DIGEST_HEX_LEN + 1], hex[DIGEST_HEX_LEN + 1], fmt[8];
  char *text = NULL;
  size_t len;
  uint64_t count, done;
  int end = 0;

  /* read_file takes only a regular file: a FIFO or a device put in
   * the record's place cannot hang us. */
  if (read_file (path, RECORD_MAX, &text, &len) == -1)
    return 0;
  digest_to_hex (index, want);
  if (strlen (text) != len
      || sscanf (text,
                 RECORD_MAGIC " %64[0-9a-f] %7[a-z0-9] %" SCNu64 " %" SCNu64
                              "\n%n",
                 hex, fmt, &count, &done, &end)
        != 4
      || (size_t) end != len || strcmp (hex, want) || strcmp (fmt, format)
      || count != chunk_count || done > chunk_count)
    done = 0;
  free (text);
  return done;
}

int
restore_resume_save (const char *path, const struct digest *index,
                     const char *format, uint64_t chunk_count, uint64_t done)
{
  char hex[DIGEST_HEX_LEN + 1], line[RECORD_MAX];
  int n;

  digest_to_hex (index, hex);
  n = snprintf (line, sizeof line,
                RECORD_MAGIC " %s %s %" PRIu64 " %" PRIu64 "\n", hex, format,
                chunk_count, done);
  if (n < 0 || (size_t) n >= sizeof line) {
    set_error (0, "the progress record of %s", path);
    return -1;
  }
  if (write_file_atomic (path, line, (size_t) n) == -1) {
    error_prefix ("record the progress in %s", path);
    return -1;
  }
  return 0;
}
