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
struct key_secret;

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
 * empty, or a URL a backend knows).  cipher 0: stored in the clear
 * (config version 1); else an enum aead_cipher: a random master key,
 * wrapped for secret in the first key slot (label NULL: the kind's
 * name), config version 2. */
int repo_init (const char *path, uint32_t chunk_size, uint32_t cipher,
               const struct key_secret *secret, const char *label);
/* The same, encrypted with a master key that exists (MASTER_KEY_LEN
 * bytes, opened from another repository: 'init --key-from', so that the
 * two name and seal chunks alike and copy moves them as stored). */
int repo_init_master (const char *path, uint32_t chunk_size, uint32_t cipher,
                      const unsigned char *master,
                      const struct key_secret *secret, const char *label);
/* What serve does for a client's INIT: the client made the master key
 * and its first slot; the slot is checked (it parses, under its own ID)
 * before anything is created. */
int repo_create (const char *path, const struct backend_new *nc);
/* Open an existing repository; a clear error if path is not one, or if
 * its config says it is in the clear while it has key slots (an
 * attacker who can rewrite the config must not make clients write
 * plaintext into an encrypted repository). */
struct repo *repo_open (const char *path);
void repo_close (struct repo *repo);

/* keyring.c: open the master key of an encrypted repository with a
 * passphrase or key file (keyring.h says how), set repo->keys and wipe
 * the master key.  A repository in the clear: "repository X is not
 * encrypted; no key is needed".  Nothing is changed on failure. */
int repo_unlock (struct repo *repo, const struct key_secret *secret);
/* The same with the master key itself (an exported one). */
int repo_unlock_master (struct repo *repo, const unsigned char master[32]);

/* Where index and stream map writers keep their temporary files (the
 * backend's choice).  malloc'd. */
char *repo_tmpdir (const struct repo *repo);

/* A handle each worker thread that stores or refreshes chunks opens for
 * itself (backend.h, worker_open); close it with close(). */
int repo_worker_open (struct repo *repo);

#endif
