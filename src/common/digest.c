/* SHA-256 through OpenSSL 3 EVP, with the algorithm fetched once. */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/error.h"
#include "common/digest.h"

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
fetch_sha256 (void)
{
  sha256 = EVP_MD_fetch (NULL, "SHA256", NULL);
}

int
digest_compute (const void *buf, size_t len, struct digest *out)
{
  unsigned int n;

  pthread_once (&sha256_once, fetch_sha256);
  if (sha256 == NULL || !EVP_Digest (buf, len, out->b, &n, sha256, NULL)) {
    set_error (0, "SHA-256 failed");
    return -1;
  }
  return 0;
}

bool
digest_is_zero (const struct digest *d)
{
  return buffer_is_zero (d->b, DIGEST_LEN);
}

int
digest_cmp (const struct digest *a, const struct digest *b)
{
  return memcmp (a->b, b->b, DIGEST_LEN);
}

void
hex_encode (const void *buf, size_t len, char *out)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = buf;

  for (size_t i = 0; i < len; i++) {
    out[2 * i] = hex[p[i] >> 4];
    out[2 * i + 1] = hex[p[i] & 15];
  }
  out[2 * len] = '\0';
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int
hex_decode (const char *hex, size_t len, void *out)
{
  unsigned char *p = out;

  for (size_t i = 0; i < len; i++) {
    int hi = hexval (hex[2 * i]), lo;
    if (hi < 0)
      return -1;
    lo = hexval (hex[2 * i + 1]);
    if (lo < 0)
      return -1;
    p[i] = hi << 4 | lo;
  }
  return hex[2 * len] == '\0' ? 0 : -1;
}

void
digest_to_hex (const struct digest *d, char *out)
{
  hex_encode (d->b, DIGEST_LEN, out);
}

int
digest_from_hex (const char *hex, struct digest *out)
{
  return hex_decode (hex, DIGEST_LEN, out->b);
}

bool
buffer_is_zero (const void *buf, size_t len)
{
  const unsigned char *p = buf;

  /* The classic trick: check the first 16 bytes, then compare the buffer
   * with itself shifted by 16, which memcmp vectorises. */
  if (len < 16) {
    for (size_t i = 0; i < len; i++)
      if (p[i])
        return false;
    return true;
  }
  for (size_t i = 0; i < 16; i++)
    if (p[i])
      return false;
  return memcmp (p, p + 16, len - 16) == 0;
}
