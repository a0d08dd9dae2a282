/* The working keys of an encrypted repository, derived from its master
 * key with HKDF-SHA-256, one per purpose, so that no key is used for
 * two things:
 *   id    names chunks: HMAC-SHA-256 of the plaintext, so stored names
 *         reveal nothing about content yet equal data still dedups for
 *         every client holding the key;
 *   data  encrypts chunks, indexes, stream maps and catalogues;
 *   meta  encrypts manifests;
 *   cdc   makes the gear table of a file backup's content-defined
 *         chunking, so that chunk lengths (which anyone can see) cannot
 *         be matched against the lengths known files give. */
#ifndef VMB_KEYS_H
#define VMB_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "crypto/aead.h"
#include "crypto/keyslot.h"

struct crypt_keys {
  enum aead_cipher cipher;
  unsigned char id[KDF_KEY_LEN];
  unsigned char data[AEAD_KEY_LEN];
  unsigned char meta[AEAD_KEY_LEN];
  unsigned char cdc[KDF_KEY_LEN];
};

int crypt_keys_derive (const unsigned char master[MASTER_KEY_LEN],
                       enum aead_cipher cipher, struct crypt_keys *out);
/* Wipes the keys. */
void crypt_keys_clear (struct crypt_keys *k);
/* The keyed name of a chunk of plaintext. */
int crypt_chunk_id (const struct crypt_keys *k, const void *data, size_t len,
                    struct digest *out);

/* The 256 gear values of content-defined chunking under this key. */
int crypt_cdc_gear (const struct crypt_keys *k, uint64_t gear[256]);

#endif
