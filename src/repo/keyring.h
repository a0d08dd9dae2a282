/* The key slots of an encrypted repository (docs/repository-format.pod,
 * KEY SLOTS): reading them, bounded, from the backend; opening the
 * master key with a passphrase, a key file or an exported master key;
 * adding and removing slots; exporting the master key for offline
 * recovery.
 *
 * Whoever holds a master key wipes it (OPENSSL_cleanse) when done:
 * repo_unlock keeps only the derived working keys (crypto/keys.h). */
#ifndef VMB_KEYRING_H
#define VMB_KEYRING_H

#include <stddef.h>

#include "common/strbuf.h"
#include "crypto/keyslot.h"
#include "repo.h"

#define KEYRING_MAX_SLOTS BACKEND_MAX_KEY_SLOTS

/* Every slot of repo, parsed (at most KEYRING_MAX_SLOTS, each at most
 * KEY_SLOT_MAX_TEXT bytes; a slot that does not parse is an error
 * naming it). */
int keyring_load (struct repo *repo, struct key_slot *slots, size_t *n);

/* Open the master key with secret: the slots of its kind, each tried
 * once.  opened (may be NULL) gets the ID of the slot that opened.  -1
 * with "wrong passphrase: no key slot of REPO opens with it" (or "wrong
 * key file") when none does. */
int keyring_open (struct repo *repo, const struct key_secret *secret,
                  unsigned char master[MASTER_KEY_LEN],
                  char opened[KEY_SLOT_ID_LEN + 1]);

/* A new slot for master under secret (passphrase: the default scrypt
 * cost), stored before this returns; label NULL: "passphrase" or
 * "key-file".  *out (may be NULL) gets the slot. */
int keyring_add (struct repo *repo, const unsigned char master[MASTER_KEY_LEN],
                 const struct key_secret *secret, const char *label,
                 struct key_slot *out);
/* Remove slot id; refused when it is the last. */
int keyring_remove (struct repo *repo, const char *id);

/* The master key in a printable form (docs/vmbackup.pod, key export):
 *   vmbackup-master-key 1
 *   repository <id>
 *   cipher <name>
 *   key <64 hex>
 *   check <8 hex: the first of SHA-256 of the lines above>  */
#define MASTER_EXPORT_MAX_TEXT 512
void keyring_export (const struct repo *repo,
                     const unsigned char master[MASTER_KEY_LEN],
                     struct strbuf *out);
/* Is text (a key file's contents) an exported master key? */
bool keyring_is_export (const char *text, size_t len);
/* The master key of an export, which must be repo's (ID and cipher). */
int keyring_import (const struct repo *repo, const char *text, size_t len,
                    unsigned char master[MASTER_KEY_LEN]);

/* Checked storage of slot objects, for serve (which holds no key): a
 * slot stored is one that parses, under its own ID. */
int keyring_put_text (struct repo *repo, const char *id, const char *text,
                      size_t len);

#endif
