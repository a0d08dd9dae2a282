/* A cache on this host of what never changes in an S3 repository:
 * indexes, named by the digest of their bytes (so a cached copy is
 * either right or, if damaged here, refused by the repository code
 * that checks every index it reads).  Incremental backups and restores
 * read the index of an earlier backup without downloading it again.
 *
 * $XDG_CACHE_HOME/vmbackup/s3/<repository ID>/indexes/<hex>.idx
 * (default ~/.cache); a cache that cannot be made or written is
 * silently not used. */
#ifndef VMB_S3_CACHE_H
#define VMB_S3_CACHE_H

#include <stddef.h>

#include "common/digest.h"

/* malloc'd directory of this repository's cache, made if missing; NULL
 * (no error set) when there can be none. */
char *s3_cache_dir (const char *repo_id);
/* An fd open on the cached index, or -1. */
int s3_cache_open (const char *dir, const struct digest *id);
/* Keep len bytes as index id (best effort, atomic). */
void s3_cache_store (const char *dir, const struct digest *id,
                     const void *data, size_t len);
void s3_cache_forget (const char *dir, const struct digest *id);

#endif
