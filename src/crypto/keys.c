/* Working keys of an encrypted repository (see keys.h). */
#include <string.h>

#include <openssl/crypto.h>

#include "common/endian.h"
#include "crypto/keys.h"

int
crypt_keys_derive (const unsigned char master[MASTER_KEY_LEN],
                   enum aead_cipher cipher, struct crypt_keys *out)
{
  memset (out, 0, sizeof *out);
  out->cipher = cipher;
  if (kdf_hkdf (master, NULL, 0, "vmbackup chunk-id", out->id) == -1
      || kdf_hkdf (master, NULL, 0, "vmbackup data", out->data) == -1
      || kdf_hkdf (master, NULL, 0, "vmbackup metadata", out->meta) == -1
      || kdf_hkdf (master, NULL, 0, "vmbackup cdc", out->cdc) == -1) {
    crypt_keys_clear (out);
    return -1;
  }
  return 0;
}

void
crypt_keys_clear (struct crypt_keys *k)
{
  OPENSSL_cleanse (k, sizeof *k);
}

int
crypt_chunk_id (const struct crypt_keys *k, const void *data, size_t len,
                struct digest *out)
{
  return kdf_hmac (k->id, data, len, out->b);
}

int
crypt_cdc_gear (const struct crypt_keys *k, uint64_t gear[256])
{
  for (int i = 0; i < 256; i++) {
    unsigned char in[2] = { 'g', i }, out[KDF_KEY_LEN];
    if (kdf_hmac (k->cdc, in, sizeof in, out) == -1)
      return -1;
    gear[i] = get_le64 (out);
  }
  return 0;
}
