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
  struct local *L = local_of (be);
  char rel[128];
  CLEANUP_CLOSE int fd = -1;
  struct stat st;

  local_chunk_relpath (d, rel, sizeof rel);
  /* O_NONBLOCK: something other than a file put there (a FIFO) must not
   * hang the server; it is refused below. */
  fd = openat (L->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd == -1) {
    set_error (errno == ENOENT ? 0 : errno, "chunk %s%s", rel + 10,
               errno == ENOENT ? ": missing" : "");
    return -1;
  }
  if (fstat (fd, &st) == -1) {
    set_error (errno, "chunk %s", rel + 10);
    return -1;
  }
  if (!S_ISREG (st.st_mode)) {
    set_error (0, "chunk %s: not a regular file", rel + 10);
    return -1;
  }
  *filelen = st.st_size;
  if ((uint64_t) st.st_size < hdrlen) {
    set_error (0, "chunk %s: truncated (%lld bytes)", rel + 10,
               (long long) st.st_size);
    return -1;
  }
  if (read_full (fd, hdr, hdrlen, 0) == -1) {
    set_error (errno, "chunk %s: read", rel + 10);
    return -1;
  }
  return 0;
}
