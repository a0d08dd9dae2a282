/* libFuzzer harness for backup manifests: manifest_parse, manifest_free
 * and, for sealed (version 2) manifests, manifest_unseal with and
 * without the key (nothing a fuzzer makes opens).
 *
 * Each input is parsed as is and again with its checksum line replaced
 * by the right one (a fuzzer cannot forge SHA-256, so without this it
 * would never get past the checksum).  Anything accepted must serialise
 * and parse back to the same text; a violation aborts. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"
#include "repo/manifest.h"

#define SUMLINE_LEN (9 + DIGEST_HEX_LEN + 1) /* "checksum <hex>\n" */

static void
round_trip (const struct manifest *m)
{
  char *text = manifest_serialize (m), *text2;
  struct manifest *m2 = calloc (1, sizeof *m2);

  if (text == NULL || m2 == NULL)
    abort ();
  if (manifest_parse (text, strlen (text), m2) == -1)
    abort ();
  text2 = manifest_serialize (m2);
  if (text2 == NULL || strcmp (text, text2) != 0)
    abort ();
  free (text);
  free (text2);
  manifest_free (m2);
}

static void
try_parse (const char *text, size_t len)
{
  struct manifest *m = calloc (1, sizeof *m);

  if (m == NULL)
    abort ();
  if (manifest_parse (text, len, m) == 0) {
    static struct crypt_keys keys;
    static const unsigned char master[MASTER_KEY_LEN] = { 5 };
    struct repo keyed = { .encryption = AEAD_AES_256_GCM, .keys = &keys };
    struct repo keyless = { .encryption = AEAD_AES_256_GCM };
    bool sealed = m->sealed != NULL;

    round_trip (m);
    if (keys.cipher == 0
        && crypt_keys_derive (master, AEAD_AES_256_GCM, &keys) == -1)
      abort ();
    if (manifest_unseal (&keyless, &m) != (sealed ? 0 : -1))
      abort ();
    if (sealed && manifest_unseal (&keyed, &m) == 0)
      abort (); /* forged a sealed manifest */
  }
  manifest_free (m);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t body = size;
  char *fixed;
  struct digest d;
  char hex[DIGEST_HEX_LEN + 1];

  if (size > MANIFEST_MAX + SUMLINE_LEN)
    return 0;
  try_parse ((const char *) data, size);

  if (size >= SUMLINE_LEN
      && memcmp (data + size - SUMLINE_LEN, "checksum ", 9) == 0)
    body = size - SUMLINE_LEN;
  fixed = malloc (body + SUMLINE_LEN);
  if (fixed == NULL)
    abort ();
  memcpy (fixed, data, body);
  if (digest_compute (fixed, body, &d) == -1)
    abort ();
  digest_to_hex (&d, hex);
  memcpy (fixed + body, "checksum ", 9);
  memcpy (fixed + body + 9, hex, DIGEST_HEX_LEN);
  fixed[body + SUMLINE_LEN - 1] = '\n';
  try_parse (fixed, body + SUMLINE_LEN);
  free (fixed);
  return 0;
}
