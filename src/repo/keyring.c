/* Key slots: loading, opening, adding, removing (see keyring.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "crypto/keys.h"
#include "keyring.h"

_Static_assert(KEY_SLOT_ID_LEN == BACKEND_KEY_ID_LEN, "slot ID length");
_Static_assert(KEY_SLOT_MAX_TEXT <= BACKEND_KEY_MAX, "slot size");

static const char *
kind_name (enum key_slot_kind k)
{
  return k == KEY_SLOT_PASSPHRASE ? "passphrase" : "key file";
}

static int
need_encrypted (const struct repo *repo)
{
  if (repo->encryption == 0) {
    set_error (0, "repository %s is not encrypted; no key is needed",
               repo->path);
    return -1;
  }
  return 0;
}

/* Slot id: 0, -1 if it is damaged, or LOAD_UNREADABLE if the backend
 * could not read it (a timeout, a dropped link), the error set. */
#define LOAD_UNREADABLE (-2)
static int
load_one (struct repo *repo, const char *id, struct key_slot *s)
{
  CLEANUP_FREE char *text = NULL;
  size_t len;

  if (repo->be->ops->key_get (repo->be, id, &text, &len) == -1) {
    /* The way to it failed (a timeout, a dropped link, an I/O error):
     * not the slot's fault.  Anything else (missing since the listing,
     * too large, not a file) is as damaged. */
    switch (get_errno ()) {
      case ETIMEDOUT:
      case EIO:
      case EPIPE:
      case ECONNRESET:
      case ECONNREFUSED:
      case ECONNABORTED:
      case EHOSTUNREACH:
      case ENETUNREACH:
      case EAGAIN: return LOAD_UNREADABLE;
      default: return -1;
    }
  }
  if (len > KEY_SLOT_MAX_TEXT) {
    set_error (0, "key slot %s: larger than %d bytes", id, KEY_SLOT_MAX_TEXT);
    return -1;
  }
  if (key_slot_parse (text, len, s) == -1) {
    error_prefix ("key slot %s", id);
    return -1;
  }
  /* A slot copied under another name is not the slot its name says. */
  if (strcmp (s->id, id) != 0) {
    set_error (0, "key slot %s: its text names slot %s", id, s->id);
    return -1;
  }
  return 0;
}

int
keyring_load (struct repo *repo, struct key_slot *slots, size_t *n)
{
  char ids[KEYRING_MAX_SLOTS][BACKEND_KEY_ID_LEN + 1];
  size_t nids;

  *n = 0;
  if (repo->be->ops->key_list (repo->be, ids, KEYRING_MAX_SLOTS, &nids) == -1)
    return -1;
  for (size_t i = 0; i < nids; i++) {
    if (load_one (repo, ids[i], &slots[*n]) < 0)
      return -1;
    (*n)++;
  }
  return 0;
}

int
keyring_open (struct repo *repo, const struct key_secret *secret,
              unsigned char master[MASTER_KEY_LEN],
              char opened[KEY_SLOT_ID_LEN + 1])
{
  char ids[KEYRING_MAX_SLOTS][BACKEND_KEY_ID_LEN + 1];
  char bad[256] = "";
  size_t n, tried = 0, unreadable = 0;

  if (need_encrypted (repo) == -1
      || repo->be->ops->key_list (repo->be, ids, KEYRING_MAX_SLOTS, &n) == -1)
    return -1;
  for (size_t i = 0; i < n; i++) {
    struct key_slot s;
    int r = load_one (repo, ids[i], &s);
    /* A damaged slot must not lock out the holders of the others. */
    if (r == -1) {
      if (unreadable++ == 0)
        snprintf (bad, sizeof bad, "; %s", get_error ());
      continue;
    }
    /* One the repository could not give us may be the right one: not
     * a wrong key, and not worth the others' key derivations. */
    if (r == LOAD_UNREADABLE) {
      error_prefix ("could not read the key slots of %s", repo->path);
      return -1;
    }
    if (s.kind != secret->kind)
      continue;
    tried++;
    if (key_slot_open (&s, secret, master) == 0) {
      if (opened)
        memcpy (opened, s.id, KEY_SLOT_ID_LEN + 1);
      return 0;
    }
  }
  set_error (0, "wrong %s: no key slot of %s opens with it%s%s",
             kind_name (secret->kind), repo->path,
             tried == 0 ? secret->kind == KEY_SLOT_PASSPHRASE
                 ? " (it has no passphrase slot)"
                 : " (it has no key-file slot)"
                        : "",
             bad);
  return -1;
}

int
keyring_add (struct repo *repo, const unsigned char master[MASTER_KEY_LEN],
             const struct key_secret *secret, const char *label,
             struct key_slot *out)
{
  struct key_slot s;
  struct strbuf text = STRBUF_INIT;
  size_t n;
  char ids[KEYRING_MAX_SLOTS][BACKEND_KEY_ID_LEN + 1];
  int r;

  if (need_encrypted (repo) == -1)
    return -1;
  if (repo->be->ops->key_list (repo->be, ids, KEYRING_MAX_SLOTS, &n) == -1)
    return -1;
  if (n >= KEYRING_MAX_SLOTS) {
    set_error (0, "%s has %d key slots, the most a repository may have",
               repo->path, KEYRING_MAX_SLOTS);
    return -1;
  }
  if (label == NULL)
    label = secret->kind == KEY_SLOT_PASSPHRASE ? "passphrase" : "key-file";
  if (key_slot_create (&s, label, time (NULL), secret, &scrypt_default, master)
      == -1)
    return -1;
  key_slot_format (&s, &text);
  r = repo->be->ops->key_put (repo->be, s.id, text.buf, text.len);
  strbuf_release (&text);
  if (r == 0 && out)
    *out = s;
  return r;
}

int
keyring_remove (struct repo *repo, const char *id)
{
  struct key_slot slots[KEYRING_MAX_SLOTS];
  size_t n;
  bool found = false;

  if (need_encrypted (repo) == -1 || keyring_load (repo, slots, &n) == -1)
    return -1;
  for (size_t i = 0; i < n; i++)
    found = found || strcmp (slots[i].id, id) == 0;
  if (!found) {
    set_error (0, "%s has no key slot %s", repo->path, id);
    return -1;
  }
  /* Without a slot nothing opens the repository again (an exported
   * master key aside, which we cannot know exists). */
  if (n == 1) {
    set_error (0,
               "key slot %s is the last of %s: removing it would lock "
               "everyone out (add another first)",
               id, repo->path);
    return -1;
  }
  return repo->be->ops->key_delete (repo->be, id);
}

int
keyring_put_text (struct repo *repo, const char *id, const char *text,
                  size_t len)
{
  struct key_slot s;

  if (need_encrypted (repo) == -1)
    return -1;
  if (len > KEY_SLOT_MAX_TEXT || key_slot_parse (text, len, &s) == -1) {
    error_prefix ("key slot %s", id);
    return -1;
  }
  if (strcmp (s.id, id) != 0) {
    set_error (0, "key slot %s: its text names slot %s", id, s.id);
    return -1;
  }
  return repo->be->ops->key_put (repo->be, id, text, len);
}

int
repo_unlock_master (struct repo *repo,
                    const unsigned char master[MASTER_KEY_LEN])
{
  struct crypt_keys *k;

  if (need_encrypted (repo) == -1)
    return -1;
  k = malloc (sizeof *k);
  if (k == NULL) {
    set_error (ENOMEM, "keys");
    return -1;
  }
  if (crypt_keys_derive (master, repo->encryption, k) == -1) {
    free (k);
    return -1;
  }
  if (repo->keys) {
    crypt_keys_clear (repo->keys);
    free (repo->keys);
  }
  repo->keys = k;
  return 0;
}

int
repo_unlock (struct repo *repo, const struct key_secret *secret)
{
  unsigned char master[MASTER_KEY_LEN];
  int r = keyring_open (repo, secret, master, NULL);

  if (r == 0)
    r = repo_unlock_master (repo, master);
  OPENSSL_cleanse (master, sizeof master);
  return r;
}
