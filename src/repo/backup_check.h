/* Is a manifest's backup whole?  The structural check a server makes
 * before it publishes a manifest an untrusted client sent: everything
 * the manifest names is there and agrees with it, so that a backup that
 * becomes visible can be marked by gc, pruned, verified and restored
 * like any other, and cannot make those misjudge the data of other
 * backups (a forged length blaming a healthy chunk, an unreadable map
 * stopping gc).
 *
 * Checked, for each disk and configuration file: its index exists, is
 * sealed (trailer = name), has the repository's chunk size and the
 * size the manifest gives; every non-zero digest in it names a stored
 * chunk whose header is valid and whose raw size is the length of that
 * slot.  For a file backup's two streams: the map's own index as
 * above, the map's entries in order, each 1 to chunk size bytes, ending
 * at the stream size the manifest gives after the chunk count it
 * gives, and each named chunk stored with exactly that raw size.  Only
 * chunk headers are read, never payloads: payload damage is verify's
 * business, and a chunk decoded when it was stored was checked then. */
#ifndef VMB_BACKUP_CHECK_H
#define VMB_BACKUP_CHECK_H

#include "digest_set.h"
#include "manifest.h"
#include "repo.h"

/* 0 when m is whole, else -1 with the error naming the first problem.
 * full (may be NULL): digests of chunks known to be stored with a raw
 * size of exactly the chunk size, which are not read again; chunks
 * found so while checking are added (a chunk named many times is read
 * once). */
int backup_check (struct repo *repo, const struct manifest *m,
                  struct digest_set *full);

#endif
