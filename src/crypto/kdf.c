/* scrypt, HKDF and HMAC through OpenSSL 3 (see kdf.h). */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "common/error.h"
#include "crypto/kdf.h"

const struct scrypt_params scrypt_default = { .n = 1u << 17, .r = 8, .p = 1 };

#define SCRYPT_MAX_MEM (1ull << 30)

int
scrypt_params_check (const struct scrypt_params *sp)
{
  if (sp->n < 1024 || sp->n > (1u << 22) || (sp->n & (sp->n - 1))) {
    set_error (0,
               "scrypt cost n=%llu is not a power of two from 1024 to "
               "4194304",
               (unsigned long long) sp->n);
    return -1;
  }
  if (sp->r < 1 || sp->r > 32 || sp->p < 1 || sp->p > 16) {
    set_error (0, "scrypt parameters r=%u p=%u out of range (r 1-32, p 1-16)",
               sp->r, sp->p);
    return -1;
  }
  if (128ull * sp->n * sp->r > SCRYPT_MAX_MEM) {
    set_error (0, "scrypt parameters n=%llu r=%u need more than 1 GiB",
               (unsigned long long) sp->n, sp->r);
    return -1;
  }
  return 0;
}

static int
derive (const char *alg, OSSL_PARAM *params, unsigned char *out)
{
  EVP_KDF *kdf = EVP_KDF_fetch (NULL, alg, NULL);
  EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new (kdf) : NULL;
  int ok = ctx && EVP_KDF_derive (ctx, out, KDF_KEY_LEN, params) == 1;

  EVP_KDF_CTX_free (ctx);
  EVP_KDF_free (kdf);
  if (!ok) {
    set_error (0, "%s key derivation failed", alg);
    return -1;
  }
  return 0;
}

int
kdf_scrypt (const void *pass, size_t passlen, const unsigned char *salt,
            size_t saltlen, const struct scrypt_params *sp,
            unsigned char out[KDF_KEY_LEN])
{
  uint64_t n = sp->n, maxmem = SCRYPT_MAX_MEM + (1u << 20);
  uint32_t r = sp->r, p = sp->p;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_PASSWORD, (void *) pass,
                                       passlen),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, (void *) salt,
                                       saltlen),
    OSSL_PARAM_construct_uint64 (OSSL_KDF_PARAM_SCRYPT_N, &n),
    OSSL_PARAM_construct_uint32 (OSSL_KDF_PARAM_SCRYPT_R, &r),
    OSSL_PARAM_construct_uint32 (OSSL_KDF_PARAM_SCRYPT_P, &p),
    OSSL_PARAM_construct_uint64 (OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
    OSSL_PARAM_construct_end (),
  };

  if (scrypt_params_check (sp) == -1)
    return -1;
  return derive ("SCRYPT", params, out);
}

int
kdf_hkdf (const unsigned char key[KDF_KEY_LEN], const void *salt,
          size_t saltlen, const char *info, unsigned char out[KDF_KEY_LEN])
{
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, (void *) key,
                                       KDF_KEY_LEN),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, (void *) info,
                                       strlen (info)),
    /* No salt is RFC 5869's zero salt; OpenSSL refuses an empty one. */
    saltlen ? OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT,
                                                 (void *) salt, saltlen)
            : OSSL_PARAM_construct_end (),
    OSSL_PARAM_construct_end (),
  };

  return derive ("HKDF", params, out);
}

int
kdf_hmac (const unsigned char key[KDF_KEY_LEN], const void *data, size_t len,
          unsigned char out[KDF_KEY_LEN])
{
  size_t outlen = 0;

  if (EVP_Q_mac (NULL, "HMAC", NULL, "SHA256", NULL, key, KDF_KEY_LEN, data,
                 len, out, KDF_KEY_LEN, &outlen)
        == NULL
      || outlen != KDF_KEY_LEN) {
    set_error (0, "HMAC-SHA-256 failed");
    return -1;
  }
  return 0;
}
