/* An open repository: its storage backend, identity and chunk size.
 *
 * What is stored (docs/repository-format.pod is the full description):
 *   config                   format version, repository id, chunk size
 *   chunks/XX/<sha256>       one compressed chunk per file
 *   indexes/<sha256>.idx     per-disk digest lists, named by their hash
 *   backups/<name>/<stamp>   manifests, the only thing that makes a
 *                            backup visible
 * Where and how (a directory, a server over ssh) is the backend's
 * business (backend/backend.h); nothing in repo/ asks which one it is.
 */
#ifndef VMB_REPO_H
#define VMB_REPO_H

#include <stdint.h>

#include "backend/backend.h"

#define REPO_FORMAT_VERSION BACKEND_FORMAT_VERSION
#define REPO_MIN_CHUNK BACKEND_MIN_CHUNK
#define REPO_MAX_CHUNK BACKEND_MAX_CHUNK
#define REPO_DEFAULT_CHUNK (4 * 1024 * 1024)

struct crypt_keys;

struct repo {
  char *path; /* as given: a directory or a URL */
  char id[33];
  uint32_t chunk_size;
  struct backend *be;
  /* 0 for a repository stored in the clear, else the cipher its config
   * names (enum aead_cipher). */
  uint32_t encryption;
  /* The working keys once unlocked; NULL before, and always for a
   * reader without the key (serve, gc): what such a reader can still
   * check is in docs/repository-format.pod, ENCRYPTION. */
  struct crypt_keys *keys;
};

/* Create a repository at path (a directory, which must be missing or
 * empty, or a URL a backend knows). */
int repo_init (const char *path, uint32_t chunk_size);
/* Open an existing repository; a clear error if path is not one. */
struct repo *repo_open (const char *path);
void repo_close (struct repo *repo);

/* Where index and stream map writers keep their temporary files (the
 * backend's choice).  malloc'd. */
char *repo_tmpdir (const struct repo *repo);

/* A handle each worker thread that stores or refreshes chunks opens for
 * itself (backend.h, worker_open); close it with close(). */
int repo_worker_open (struct repo *repo);

#endif
