/* libFuzzer harness for key slots and key files (src/crypto/keyslot.c),
 * which an attacker with write access to the repository can plant, and
 * exported master keys (src/repo/key_export.c), which --key-file reads.  A
 * slot that parses must format back to exactly the bytes parsed (the
 * wrap authenticates that text, so parse and format must agree), with
 * scrypt parameters inside the documented bounds.  A violation aborts.
 * Slots are not opened: scrypt at a legal cost is too slow to fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyslot.h"
#include "repo/keyring.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct key_slot s;
  unsigned char key[MASTER_KEY_LEN];

  if (key_slot_parse ((const char *) data, size, &s) == 0) {
    struct strbuf out = STRBUF_INIT;
    key_slot_format (&s, &out);
    if (out.len != size || memcmp (out.buf, data, size) != 0)
      abort ();
    if (s.kind == KEY_SLOT_PASSPHRASE && scrypt_params_check (&s.scrypt))
      abort ();
    strbuf_release (&out);
  }
  (void) key_file_parse ((const char *) data, size, key);
  /* An export that imports must export back to the same bytes. */
  {
    struct repo repo = { .path = "fuzz", .encryption = AEAD_AES_256_GCM };
    const char *id = memmem (data, size, "\nrepository ", 12);
    if (id && (size_t) ((const uint8_t *) id - data) + 12 + 32 <= size)
      memcpy (repo.id, id + 12, 32);
    if (keyring_import (&repo, (const char *) data, size, key) == 0) {
      struct strbuf out = STRBUF_INIT;
      keyring_export (&repo, key, &out);
      if (out.len != size || memcmp (out.buf, data, size) != 0)
        abort ();
      strbuf_release (&out);
    }
  }
  return 0;
}
