/* AEAD through OpenSSL EVP (see aead.h).  The cipher is fetched once per
 * process; a context is made per call (cheap next to the data: chunks
 * are 64 KiB or more). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/error.h"
#include "crypto/aead.h"

static EVP_CIPHER *ciphers[3];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void
fetch_ciphers (void)
{
  ciphers[AEAD_AES_256_GCM] = EVP_CIPHER_fetch (NULL, "AES-256-GCM", NULL);
  ciphers[AEAD_CHACHA20_POLY1305] = EVP_CIPHER_fetch (NULL,
                                                      "ChaCha20-Poly1305",
                                                      NULL);
}

const char *
aead_cipher_name (enum aead_cipher c)
{
  switch (c) {
    case AEAD_AES_256_GCM: return "aes-256-gcm";
    case AEAD_CHACHA20_POLY1305: return "chacha20-poly1305";
  }
  return NULL;
}

int
aead_cipher_parse (const char *name, enum aead_cipher *out)
{
  if (strcmp (name, "aes-256-gcm") == 0)
    *out = AEAD_AES_256_GCM;
  else if (strcmp (name, "chacha20-poly1305") == 0)
    *out = AEAD_CHACHA20_POLY1305;
  else {
    set_error (0, "unknown cipher '%s' (aes-256-gcm or chacha20-poly1305)",
               name);
    return -1;
  }
  return 0;
}

enum aead_cipher
aead_cipher_default (void)
{
#if defined(__x86_64__)
  /* CPUID leaf 1, ECX bit 25: AES-NI.  OpenSSL uses it when present. */
  unsigned int a, b, c, d;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  return c & (1u << 25) ? AEAD_AES_256_GCM : AEAD_CHACHA20_POLY1305;
#else
  return AEAD_AES_256_GCM;
#endif
}

static const EVP_CIPHER *
get_cipher (enum aead_cipher c)
{
  pthread_once (&fetch_once, fetch_ciphers);
  if ((c != AEAD_AES_256_GCM && c != AEAD_CHACHA20_POLY1305)
      || ciphers[c] == NULL) {
    set_error (0, "cipher %d is not available", (int) c);
    return NULL;
  }
  return ciphers[c];
}

/* EVP takes int lengths. */
static int
check_len (size_t len)
{
  if (len > INT_MAX) {
    set_error (EFBIG, "object of %zu bytes is too large to encrypt", len);
    return -1;
  }
  return 0;
}

int
aead_encrypt (enum aead_cipher c, const unsigned char key[AEAD_KEY_LEN],
              const void *aad, size_t aadlen, const void *in, size_t len,
              unsigned char *out, unsigned char nonce[AEAD_NONCE_LEN],
              unsigned char tag[AEAD_TAG_LEN])
{
  const EVP_CIPHER *cipher = get_cipher (c);
  EVP_CIPHER_CTX *ctx;
  int n, ok;

  if (cipher == NULL || check_len (len) == -1 || check_len (aadlen) == -1)
    return -1;
  /* A fresh random nonce per object: with at most 2^32 objects per key
   * the chance of a repeat stays below 2^-32 (NIST SP 800-38D 8.3). */
  if (RAND_bytes (nonce, AEAD_NONCE_LEN) != 1) {
    set_error (0, "no random bytes for a nonce");
    return -1;
  }
  ctx = EVP_CIPHER_CTX_new ();
  ok = ctx && EVP_EncryptInit_ex2 (ctx, cipher, key, nonce, NULL)
    && (aadlen == 0 || EVP_EncryptUpdate (ctx, NULL, &n, aad, aadlen))
    && EVP_EncryptUpdate (ctx, out, &n, in, len)
    && EVP_EncryptFinal_ex (ctx, out + n, &n)
    && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, tag);
  EVP_CIPHER_CTX_free (ctx);
  if (!ok) {
    set_error (0, "encryption failed");
    return -1;
  }
  return 0;
}

int
aead_decrypt (enum aead_cipher c, const unsigned char key[AEAD_KEY_LEN],
              const void *aad, size_t aadlen, const void *in, size_t len,
              const unsigned char nonce[AEAD_NONCE_LEN],
              const unsigned char tag[AEAD_TAG_LEN], unsigned char *out)
{
  const EVP_CIPHER *cipher = get_cipher (c);
  EVP_CIPHER_CTX *ctx;
  unsigned char tagcopy[AEAD_TAG_LEN];
  int n, ok;

  if (cipher == NULL || check_len (len) == -1 || check_len (aadlen) == -1)
    return -1;
  memcpy (tagcopy, tag, AEAD_TAG_LEN);
  ctx = EVP_CIPHER_CTX_new ();
  ok = ctx && EVP_DecryptInit_ex2 (ctx, cipher, key, nonce, NULL)
    && (aadlen == 0 || EVP_DecryptUpdate (ctx, NULL, &n, aad, aadlen))
    && EVP_DecryptUpdate (ctx, out, &n, in, len)
    && EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tagcopy)
    && EVP_DecryptFinal_ex (ctx, out + n, &n) > 0;
  EVP_CIPHER_CTX_free (ctx);
  if (!ok) {
    /* Nothing decrypted is to be used. */
    OPENSSL_cleanse (out, len);
    set_error (0,
               "authentication failed: wrong key, or the object was "
               "changed or moved");
    return -1;
  }
  return 0;
}

int
aead_seal (enum aead_cipher c, const unsigned char key[AEAD_KEY_LEN],
           const void *aad, size_t aadlen, const void *plain, size_t len,
           unsigned char *out)
{
  return aead_encrypt (c, key, aad, aadlen, plain, len, out + AEAD_NONCE_LEN,
                       out, out + AEAD_NONCE_LEN + len);
}

int
aead_open (enum aead_cipher c, const unsigned char key[AEAD_KEY_LEN],
           const void *aad, size_t aadlen, const unsigned char *in,
           size_t inlen, unsigned char *out)
{
  if (inlen < AEAD_OVERHEAD) {
    set_error (0,
               "authentication failed: encrypted object of %zu bytes "
               "is shorter than its nonce and tag",
               inlen);
    return -1;
  }
  return aead_decrypt (c, key, aad, aadlen, in + AEAD_NONCE_LEN,
                       inlen - AEAD_OVERHEAD, in, in + inlen - AEAD_TAG_LEN,
                       out);
}
