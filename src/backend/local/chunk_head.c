/* The local backend's chunk headers: the start of a chunk file and its
 * length, for a server that checks what a manifest names without
 * reading every payload (backend.h, chunk_head). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "local.h"

int
local_chunk_head (struct backend *be, const struct digest *d,
                  unsigned char *hdr, size_t hdrlen, uint64_t *filelen)
{
  char name[160];
  struct stat st;
  CLEANUP_CLOSE int fd = local_chunk_open (local_of (be), d, name, sizeof name,
                                           &st);

  if (fd == -1)
    return -1;
  *filelen = st.st_size;
  if ((uint64_t) st.st_size < hdrlen) {
    set_error (0, "%s: truncated (%lld bytes)", name, (long long) st.st_size);
    return -1;
  }
  if (read_full (fd, hdr, hdrlen, 0) == -1) {
    set_error (errno, "%s: read", name);
    return -1;
  }
  return 0;
}
