/* SHA-256 chunk digests.  The all-zero digest is reserved to mean "an
 * all-zero chunk", which is never stored. */
#ifndef VMB_DIGEST_H
#define VMB_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define DIGEST_LEN 32
#define DIGEST_HEX_LEN 64

struct digest {
  unsigned char b[DIGEST_LEN];
};

int digest_compute (const void *buf, size_t len, struct digest *out);
bool digest_is_zero (const struct digest *d);
int digest_cmp (const struct digest *a, const struct digest *b);
/* out must hold DIGEST_HEX_LEN + 1 bytes. */
void digest_to_hex (const struct digest *d, char *out);
int digest_from_hex (const char *hex, struct digest *out);
bool buffer_is_zero (const void *buf, size_t len);
/* Lowercase hexadecimal: out holds 2 * len + 1 bytes. */
void hex_encode (const void *buf, size_t len, char *out);
/* Exactly 2 * len lowercase hex digits, then '\0'; -1 otherwise. */
int hex_decode (const char *hex, size_t len, void *out);

#endif
