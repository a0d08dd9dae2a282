/* An open repository: its directory, identity and chunk size.
 *
 * Layout (docs/repository-format.pod is the full description):
 *   config                   format version, repository id, chunk size
 *   chunks/XX/<sha256>       one compressed chunk per file
 *   indexes/<sha256>.idx     per-disk digest lists, named by their hash
 *   backups/<name>/<stamp>   manifests, the only thing that makes a
 *                            backup visible
 *   locks/                   writer registrations and gc exclusion
 *   tmp/                     files being written
 */
#ifndef VMB_REPO_H
#define VMB_REPO_H

#include <stdint.h>

#define REPO_FORMAT_VERSION 1
#define REPO_MIN_CHUNK (64 * 1024)
#define REPO_MAX_CHUNK (16 * 1024 * 1024)
#define REPO_DEFAULT_CHUNK (4 * 1024 * 1024)

struct repo_remote_ops;

struct repo {
  char *path;                   /* directory, or the ssh:// URL */
  char id[33];
  uint32_t chunk_size;
  int dirfd;                    /* -1 for a remote repository */
  /* A repository reached over ssh (src/remote/): the store, index,
   * chunk and manifest functions hand their work to these operations
   * instead of the local directory (remote_ops.h). */
  const struct repo_remote_ops *remote;
  void *remote_conn;
};

/* Create a repository in path, which must be missing or empty. */
int repo_init (const char *path, uint32_t chunk_size);
/* Open an existing repository; a clear error if path is not one. */
struct repo *repo_open (const char *path);
void repo_close (struct repo *repo);

/* Where index and stream map writers keep their temporary files:
 * <repo>/tmp, or for a remote repository $TMPDIR (default /var/tmp).
 * malloc'd. */
char *repo_tmpdir (const struct repo *repo);

/* malloc'd "<repo>/<relative>" */
char *repo_path (const struct repo *repo, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

#endif
