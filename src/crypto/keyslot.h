/* Key slots: the repository's random master key, wrapped once per
 * passphrase or key file that may open it, each slot a small text
 * object of its own (so adding or removing one never rewrites another,
 * on a directory or an object store alike).
 *
 *   vmbackup-key-slot 1
 *   id 3f9c2a1b0d4e5f60
 *   label admin
 *   created 1796407625
 *   kdf scrypt n=131072 r=8 p=1        (or: kdf key-file)
 *   salt <64 hex>
 *   wrapped <120 hex: nonce, encrypted master key, tag>
 *
 * The wrapping key is scrypt(passphrase, salt) for a passphrase, and
 * HKDF-SHA-256(key file's key, salt) for a key file: a key file holds
 * 256 random bits, so stretching it buys nothing.  Every line before
 * "wrapped" is the associated data of the wrap: changing the cost, the
 * salt or the label makes the slot fail to open rather than open
 * weaker. */
#ifndef VMB_KEYSLOT_H
#define VMB_KEYSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"

#define MASTER_KEY_LEN 32
#define KEY_SLOT_ID_LEN 16 /* hex digits */
#define KEY_SLOT_LABEL_MAX 64
#define KEY_SLOT_SALT_LEN 32
#define KEY_SLOT_WRAPPED_LEN (AEAD_NONCE_LEN + MASTER_KEY_LEN + AEAD_TAG_LEN)
#define KEY_SLOT_MAX_TEXT 1024
#define KEY_FILE_MAX_TEXT 256

enum key_slot_kind {
  KEY_SLOT_PASSPHRASE,
  KEY_SLOT_KEY_FILE,
};

struct key_slot {
  char id[KEY_SLOT_ID_LEN + 1];
  char label[KEY_SLOT_LABEL_MAX + 1];
  uint64_t created;
  enum key_slot_kind kind;
  struct scrypt_params scrypt; /* for a passphrase */
  unsigned char salt[KEY_SLOT_SALT_LEN];
  unsigned char wrapped[KEY_SLOT_WRAPPED_LEN];
};

/* What opens a slot: a passphrase, or the 32-byte key of a key file. */
struct key_secret {
  enum key_slot_kind kind;
  const void *data;
  size_t len;
};

/* A label is 1 to 64 bytes of [A-Za-z0-9._@:+-]. */
bool key_slot_label_is_valid (const char *label);

/* Make a new slot for master under secret: a random ID and salt, the
 * given label and time; sp (passphrase only) is the scrypt cost. */
int key_slot_create (struct key_slot *s, const char *label, uint64_t created,
                     const struct key_secret *secret,
                     const struct scrypt_params *sp,
                     const unsigned char master[MASTER_KEY_LEN]);
/* 0 and the master key; -1 with "wrong passphrase" or "wrong key file"
 * when secret does not open this slot (or the slot was changed). */
int key_slot_open (const struct key_slot *s, const struct key_secret *secret,
                   unsigned char master[MASTER_KEY_LEN]);

void key_slot_format (const struct key_slot *s, struct strbuf *out);
/* Strict: the exact lines above in that order, nothing else, bounded
 * scrypt cost.  -1 with an error naming the first bad line. */
int key_slot_parse (const char *text, size_t len, struct key_slot *s);

/* Key files: "vmbackup-key-file 1\nkey <64 hex>\n", 256 random bits. */
int key_file_generate (struct strbuf *out);
int key_file_parse (const char *text, size_t len,
                    unsigned char key[MASTER_KEY_LEN]);

#endif
