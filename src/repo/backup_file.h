/* Store a local file (domain XML, NVRAM, swtpm state, a kernel) in the
 * repository, chunked and indexed exactly like a disk, so verify, gc and
 * dedup treat it the same way. */
#ifndef VMB_BACKUP_FILE_H
#define VMB_BACKUP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "repo/store.h"

/* From a file on disk, compressed at zstd level. */
int backup_file (struct store *store, int level, const char *path,
                 uint64_t *size, struct digest *index);
/* A stream map written to a file (chunk_ctx_for_public). */
int backup_stream_map (struct store *store, int level, const char *path,
                       uint64_t *size, struct digest *index);
/* From memory (the domain XML libvirt gives us). */
int backup_buffer (struct store *store, int level, const void *buf, size_t len,
                   struct digest *index);

#endif
