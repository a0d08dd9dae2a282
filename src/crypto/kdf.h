/* Key derivation through OpenSSL 3's EVP_KDF and EVP_MAC: scrypt for
 * passphrases (memory-hard, parameters recorded beside each key slot),
 * HKDF-SHA-256 for subkeys of a key that is already random, and
 * HMAC-SHA-256 for keyed names. */
#ifndef VMB_KDF_H
#define VMB_KDF_H

#include <stddef.h>
#include <stdint.h>

#define KDF_KEY_LEN 32

struct scrypt_params {
  uint64_t n; /* CPU/memory cost: a power of two */
  uint32_t r; /* block size */
  uint32_t p; /* parallelism */
};

/* The cost a new passphrase slot gets: n = 2^17, r = 8, p = 1 (128 MiB,
 * about a third of a second here), restic's and the scrypt paper's
 * interactive-login choice raised for a backup key that is opened
 * rarely. */
extern const struct scrypt_params scrypt_default;

/* Parameters a hostile key slot may carry are bounded before any work:
 * n from 2^10 to 2^22, r from 1 to 32, p from 1 to 16, memory
 * (128 * n * r) at most 1 GiB.  -1 with an error naming the value. */
int scrypt_params_check (const struct scrypt_params *sp);

int kdf_scrypt (const void *pass, size_t passlen, const unsigned char *salt,
                size_t saltlen, const struct scrypt_params *sp,
                unsigned char out[KDF_KEY_LEN]);

/* HKDF-SHA-256 (RFC 5869) of key with the given salt (may be empty)
 * and info: one subkey per purpose. */
int kdf_hkdf (const unsigned char key[KDF_KEY_LEN], const void *salt,
              size_t saltlen, const char *info,
              unsigned char out[KDF_KEY_LEN]);

/* HMAC-SHA-256 of data under key. */
int kdf_hmac (const unsigned char key[KDF_KEY_LEN], const void *data,
              size_t len, unsigned char out[KDF_KEY_LEN]);

#endif
