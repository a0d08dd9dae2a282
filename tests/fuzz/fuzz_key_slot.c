/* libFuzzer harness for key slots and key files (src/crypto/keyslot.c),
 * which an attacker with write access to the repository can plant.  A
 * slot that parses must format back to exactly the bytes parsed (the
 * wrap authenticates that text, so parse and format must agree), with
 * scrypt parameters inside the documented bounds.  A violation aborts.
 * Slots are not opened: scrypt at a legal cost is too slow to fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keyslot.h"

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
  return 0;
}
