/* The repository's config object (docs/repository-format.pod, "config"):
 * format version, repository ID, chunk size.  Shared by the backends
 * that store it themselves. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/error.h"
#include "backend.h"

bool
backend_chunk_size_valid (uint32_t chunk)
{
  return chunk >= BACKEND_MIN_CHUNK && chunk <= BACKEND_MAX_CHUNK
    && (chunk & (chunk - 1)) == 0;
}

char *
backend_config_new (uint32_t chunk_size)
{
  unsigned char rnd[16];
  char id[33], *text;

  if (getrandom (rnd, sizeof rnd, 0) != sizeof rnd) {
    set_error (errno, "getrandom");
    return NULL;
  }
  for (int i = 0; i < 16; i++)
    sprintf (id + 2 * i, "%02x", rnd[i]);
  if (asprintf (&text, "vmbackup-repository %d\nid %s\nchunk-size %u\n",
                BACKEND_FORMAT_VERSION, id, chunk_size)
      == -1) {
    set_error (ENOMEM, "config");
    return NULL;
  }
  return text;
}

int
backend_config_parse (struct backend *be, const char *text)
{
  int version;
  unsigned long chunk;
  char id[64];

  if (sscanf (text, "vmbackup-repository %d\nid %63s\nchunk-size %lu\n",
              &version, id, &chunk)
      != 3) {
    set_error (0, "%s/config: not a vmbackup repository configuration",
               be->location);
    return -1;
  }
  if (version != BACKEND_FORMAT_VERSION) {
    set_error (0,
               "%s: repository format %d is not supported (this vmbackup "
               "reads format %d)",
               be->location, version, BACKEND_FORMAT_VERSION);
    return -1;
  }
  if (strlen (id) != 32 || chunk > BACKEND_MAX_CHUNK
      || !backend_chunk_size_valid (chunk)) {
    set_error (0, "%s/config: invalid id or chunk size", be->location);
    return -1;
  }
  memcpy (be->id, id, 33);
  be->chunk_size = chunk;
  return 0;
}
