/* Authenticated encryption of one object: AES-256-GCM or
 * ChaCha20-Poly1305 through OpenSSL 3's EVP, a fresh random 96-bit
 * nonce per object, and associated data that binds the object to where
 * it belongs (its name, its header), so that an object moved under
 * another name or into another repository fails to open.
 *
 * A sealed object is  nonce (12) || ciphertext (len) || tag (16). */
#ifndef VMB_AEAD_H
#define VMB_AEAD_H

#include <stddef.h>

#define AEAD_KEY_LEN 32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16
#define AEAD_OVERHEAD (AEAD_NONCE_LEN + AEAD_TAG_LEN)

enum aead_cipher {
  AEAD_AES_256_GCM = 1,
  AEAD_CHACHA20_POLY1305 = 2,
};

/* "aes-256-gcm" or "chacha20-poly1305"; NULL for an unknown value. */
const char *aead_cipher_name (enum aead_cipher c);
/* 0 and *out on success; -1 with an error naming the value. */
int aead_cipher_parse (const char *name, enum aead_cipher *out);
/* The cipher a new repository gets on this host: AES-256-GCM where the
 * CPU has AES instructions, else ChaCha20-Poly1305 (faster in software
 * and constant-time without them). */
enum aead_cipher aead_cipher_default (void);

/* Encrypt len bytes of in into out (which may be in itself), with a
 * fresh random nonce, and give the nonce and tag.  Thread-safe. */
int aead_encrypt (enum aead_cipher c, const unsigned char key[AEAD_KEY_LEN],
                  const void *aad, size_t aadlen, const void *in, size_t len,
                  unsigned char *out, unsigned char nonce[AEAD_NONCE_LEN],
                  unsigned char tag[AEAD_TAG_LEN]);
/* The reverse; -1 with "authentication failed" when the ciphertext,
 * nonce, tag, associated data or key is not what it was sealed with
 * (out is then wiped). */
int aead_decrypt (enum aead_cipher c, const unsigned char key[AEAD_KEY_LEN],
                  const void *aad, size_t aadlen, const void *in, size_t len,
                  const unsigned char nonce[AEAD_NONCE_LEN],
                  const unsigned char tag[AEAD_TAG_LEN], unsigned char *out);

/* One buffer: out holds len + AEAD_OVERHEAD bytes. */
int aead_seal (enum aead_cipher c, const unsigned char key[AEAD_KEY_LEN],
               const void *aad, size_t aadlen, const void *plain, size_t len,
               unsigned char *out);
/* in is a sealed object of inlen bytes; out holds inlen - AEAD_OVERHEAD
 * bytes.  -1 with "authentication failed" when the object, its
 * associated data or the key is not the one it was sealed with. */
int aead_open (enum aead_cipher c, const unsigned char key[AEAD_KEY_LEN],
               const void *aad, size_t aadlen, const unsigned char *in,
               size_t inlen, unsigned char *out);

#endif
