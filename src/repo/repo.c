/* Creating and opening repositories: the backend registry picks where
 * the bytes go. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/error.h"
#include "crypto/keys.h"
#include "crypto/keyslot.h"
#include "repo.h"

char *
repo_tmpdir (const struct repo *repo)
{
  char *path = repo->be->ops->tmpdir (repo->be);

  if (path == NULL)
    set_error (ENOMEM, "temporary directory");
  return path;
}

int
repo_worker_open (struct repo *repo)
{
  return repo->be->ops->worker_open (repo->be);
}

_Static_assert(BACKEND_ENCRYPTION_AES_256_GCM == AEAD_AES_256_GCM
                 && BACKEND_ENCRYPTION_CHACHA20_POLY1305
                   == AEAD_CHACHA20_POLY1305,
               "the config's encryption numbers are aead.h's");

int
repo_init_master (const char *path, uint32_t chunk_size, uint32_t cipher,
                  const unsigned char *master, const struct key_secret *secret,
                  const char *label)
{
  struct backend_new nc = { .chunk_size = chunk_size, .encryption = cipher };
  struct key_slot slot;
  struct strbuf text = STRBUF_INIT;
  int r = -1;

  if (aead_cipher_name (cipher) == NULL || secret == NULL) {
    set_error (0, "init %s: unknown cipher or no key", path);
    return -1;
  }
  if (label == NULL)
    label = secret->kind == KEY_SLOT_PASSPHRASE ? "passphrase" : "key-file";
  if (key_slot_create (&slot, label, time (NULL), secret, &scrypt_default,
                       master)
      == 0) {
    key_slot_format (&slot, &text);
    nc.key_id = slot.id;
    nc.key_text = text.buf;
    nc.key_len = text.len;
    r = backend_init (path, &nc);
  }
  OPENSSL_cleanse (text.buf, text.len);
  strbuf_release (&text);
  return r;
}

int
repo_init (const char *path, uint32_t chunk_size, uint32_t cipher,
           const struct key_secret *secret, const char *label)
{
  struct backend_new nc = { .chunk_size = chunk_size, .encryption = cipher };
  unsigned char master[MASTER_KEY_LEN];
  int r = -1;

  if (cipher == 0)
    return backend_init (path, &nc);
  if (RAND_bytes (master, sizeof master) != 1)
    set_error (0, "no random bytes for a master key");
  else
    r = repo_init_master (path, chunk_size, cipher, master, secret, label);
  OPENSSL_cleanse (master, sizeof master);
  return r;
}

int
repo_create (const char *path, const struct backend_new *nc)
{
  struct key_slot slot;

  if (nc->encryption) {
    if (aead_cipher_name (nc->encryption) == NULL) {
      set_error (0, "init %s: unknown encryption %u", path, nc->encryption);
      return -1;
    }
    if (nc->key_len > KEY_SLOT_MAX_TEXT
        || key_slot_parse (nc->key_text, nc->key_len, &slot) == -1) {
      error_prefix ("init %s: first key slot", path);
      return -1;
    }
    if (strcmp (slot.id, nc->key_id) != 0) {
      set_error (0, "init %s: key slot %s names slot %s", path, nc->key_id,
                 slot.id);
      return -1;
    }
  }
  return backend_init (path, nc);
}

/* A config that says "in the clear" beside key slots was rewritten
 * (format version 2 back to 1): refuse it rather than let a client
 * write plaintext where encrypted data is expected. */
static int
check_downgrade (struct repo *repo)
{
  char ids[BACKEND_MAX_KEY_SLOTS][BACKEND_KEY_ID_LEN + 1];
  size_t n = 0;

  if (repo->encryption)
    return 0;
  /* Too many slots (an error with n at the most) is "has key slots"
   * too. */
  if (repo->be->ops->key_list (repo->be, ids, BACKEND_MAX_KEY_SLOTS, &n) == -1
      && n < BACKEND_MAX_KEY_SLOTS) {
    error_prefix ("%s: key slots", repo->path);
    return -1;
  }
  if (n == 0)
    return 0;
  set_error (0,
             "%s: the config says the repository is not encrypted, but it "
             "has key slots (keys/): the config was changed; refusing to "
             "use it",
             repo->path);
  return -1;
}

struct repo *
repo_open (const char *path)
{
  struct repo *repo = calloc (1, sizeof *repo);

  if (repo == NULL || (repo->path = strdup (path)) == NULL) {
    free (repo);
    set_error (ENOMEM, "open %s", path);
    return NULL;
  }
  repo->be = backend_open (path);
  if (repo->be == NULL) {
    repo_close (repo);
    return NULL;
  }
  memcpy (repo->id, repo->be->id, sizeof repo->id);
  repo->chunk_size = repo->be->chunk_size;
  repo->encryption = repo->be->encryption;
  if (check_downgrade (repo) == -1) {
    repo_close (repo);
    return NULL;
  }
  return repo;
}

void
repo_close (struct repo *repo)
{
  if (repo == NULL)
    return;
  backend_close (repo->be);
  if (repo->keys) {
    crypt_keys_clear (repo->keys);
    free (repo->keys);
  }
  free (repo->path);
  free (repo);
}
