/* Encryption building blocks: AEAD round trips and every kind of
 * tampering, HMAC against a known answer, key slots opened by the right
 * passphrase or key file only, and a strict key slot parser. */
#include <string.h>

#include "common/digest.h"
#include "common/error.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/keys.h"
#include "crypto/keyslot.h"
#include "test.h"

/* Cheap enough for a unit test; the format check is the same. */
static const struct scrypt_params fast = { .n = 1024, .r = 8, .p = 1 };

static void
test_aead (enum aead_cipher c)
{
  unsigned char key[AEAD_KEY_LEN], other[AEAD_KEY_LEN];
  unsigned char plain[1000], sealed[1000 + AEAD_OVERHEAD], out[1000];
  unsigned char sealed2[sizeof sealed];

  memset (key, 7, sizeof key);
  memset (other, 8, sizeof other);
  for (size_t i = 0; i < sizeof plain; i++)
    plain[i] = i * 31;
  CHECK (aead_seal (c, key, "name", 4, plain, sizeof plain, sealed) == 0, "%s",
         get_error ());
  CHECK (memmem (sealed, sizeof sealed, plain + 100, 16) == NULL,
         "plaintext visible in the sealed object");
  CHECK (aead_open (c, key, "name", 4, sealed, sizeof sealed, out) == 0, "%s",
         get_error ());
  CHECK (memcmp (out, plain, sizeof plain) == 0, "round trip differs");
  /* Fresh nonce: sealing twice gives different bytes. */
  CHECK (aead_seal (c, key, "name", 4, plain, sizeof plain, sealed2) == 0,
         "seal");
  CHECK (memcmp (sealed, sealed2, AEAD_NONCE_LEN) != 0, "nonce reused");
  /* Another name (associated data), another key, a flipped bit in nonce,
   * ciphertext or tag, a truncation: all refused. */
  CHECK (aead_open (c, key, "namf", 4, sealed, sizeof sealed, out) == -1,
         "moved object opened");
  CHECK (strstr (get_error (), "authentication failed"), "%s", get_error ());
  CHECK (aead_open (c, other, "name", 4, sealed, sizeof sealed, out) == -1,
         "other key opened");
  for (size_t at = 0; at < sizeof sealed; at += 97) {
    sealed[at] ^= 4;
    CHECK (aead_open (c, key, "name", 4, sealed, sizeof sealed, out) == -1,
           "flip at %zu opened", at);
    sealed[at] ^= 4;
  }
  CHECK (aead_open (c, key, "name", 4, sealed, sizeof sealed - 1, out) == -1,
         "truncated object opened");
  CHECK (aead_open (c, key, "name", 4, sealed, 5, out) == -1,
         "object shorter than nonce and tag opened");

  /* In place, nonce and tag apart (as chunk files are laid out). */
  unsigned char nonce[AEAD_NONCE_LEN], tag[AEAD_TAG_LEN];
  memcpy (out, plain, sizeof plain);
  CHECK (aead_encrypt (c, key, "id", 2, out, sizeof out, out, nonce, tag) == 0,
         "%s", get_error ());
  CHECK (memcmp (out, plain, sizeof plain) != 0, "not encrypted in place");
  CHECK (aead_decrypt (c, key, "id", 2, out, sizeof out, nonce, tag, out) == 0,
         "%s", get_error ());
  CHECK (memcmp (out, plain, sizeof plain) == 0, "in-place round trip");
}

static void
test_hmac (void)
{
  unsigned char key[KDF_KEY_LEN], out[KDF_KEY_LEN];
  char hex[2 * KDF_KEY_LEN + 1];

  for (int i = 0; i < KDF_KEY_LEN; i++)
    key[i] = i;
  /* python3: hmac.new(bytes(range(32)), b"vmbackup", sha256) */
  CHECK (kdf_hmac (key, "vmbackup", 8, out) == 0, "%s", get_error ());
  hex_encode (out, sizeof out, hex);
  CHECK (strcmp (hex,
                 "d67ed706f70c8cb44d54ac7408631ef6dea24c246c732ca1ae7"
                 "cdb9aba6dd7bd")
           == 0,
         "HMAC-SHA-256: %s", hex);
}

static void
test_keys (void)
{
  unsigned char master[MASTER_KEY_LEN] = { 1 },
                master2[MASTER_KEY_LEN] = { 2 };
  struct crypt_keys k, k2;
  struct digest a, b, plain;

  CHECK (crypt_keys_derive (master, AEAD_AES_256_GCM, &k) == 0, "derive");
  CHECK (crypt_keys_derive (master2, AEAD_AES_256_GCM, &k2) == 0, "derive");
  CHECK (memcmp (k.id, k.data, 32) && memcmp (k.data, k.meta, 32),
         "one key for two purposes");
  CHECK (crypt_chunk_id (&k, "data", 4, &a) == 0, "chunk id");
  CHECK (crypt_chunk_id (&k2, "data", 4, &b) == 0, "chunk id");
  digest_compute ("data", 4, &plain);
  CHECK (digest_cmp (&a, &b) && digest_cmp (&a, &plain),
         "chunk IDs are not keyed");
  crypt_keys_clear (&k);
  crypt_keys_clear (&k2);
}

static void
test_slot_passphrase (void)
{
  unsigned char master[MASTER_KEY_LEN], got[MASTER_KEY_LEN];
  struct key_secret pass = { KEY_SLOT_PASSPHRASE, "correct horse", 13 };
  struct key_secret wrong = { KEY_SLOT_PASSPHRASE, "correct hors", 12 };
  struct key_slot s, parsed;
  struct strbuf text = STRBUF_INIT;
  char *n;

  memset (master, 0x5a, sizeof master);
  CHECK (key_slot_create (&s, "admin", 1796407625, &pass, &fast, master) == 0,
         "%s", get_error ());
  key_slot_format (&s, &text);
  CHECK (key_slot_parse (text.buf, text.len, &parsed) == 0, "%s: %s",
         get_error (), text.buf);
  CHECK (key_slot_open (&parsed, &pass, got) == 0, "%s", get_error ());
  CHECK (memcmp (got, master, sizeof got) == 0, "wrong master key");
  CHECK (key_slot_open (&parsed, &wrong, got) == -1,
         "wrong passphrase opened");
  CHECK (strstr (get_error (), "wrong passphrase"), "%s", get_error ());
  /* A cheaper cost written into the slot does not open it weaker. */
  n = strstr (text.buf, "n=1024");
  CHECK (n, "%s", text.buf);
  memcpy (n, "n=2048", 6);
  CHECK (key_slot_parse (text.buf, text.len, &parsed) == 0, "%s",
         get_error ());
  CHECK (key_slot_open (&parsed, &pass, got) == -1, "changed cost opened");
  strbuf_release (&text);
}

static void
test_slot_key_file (void)
{
  unsigned char master[MASTER_KEY_LEN], got[MASTER_KEY_LEN];
  unsigned char fkey[MASTER_KEY_LEN], fkey2[MASTER_KEY_LEN];
  struct strbuf f = STRBUF_INIT, f2 = STRBUF_INIT;
  struct key_slot s;

  memset (master, 0x33, sizeof master);
  CHECK (key_file_generate (&f) == 0 && key_file_generate (&f2) == 0, "gen");
  CHECK (key_file_parse (f.buf, f.len, fkey) == 0, "%s", get_error ());
  CHECK (key_file_parse (f2.buf, f2.len, fkey2) == 0, "%s", get_error ());
  CHECK (memcmp (fkey, fkey2, sizeof fkey), "two key files alike");
  struct key_secret sec = { KEY_SLOT_KEY_FILE, fkey, sizeof fkey };
  struct key_secret other = { KEY_SLOT_KEY_FILE, fkey2, sizeof fkey2 };
  struct key_secret pass = { KEY_SLOT_PASSPHRASE, "x", 1 };
  CHECK (key_slot_create (&s, "host-1", 1, &sec, NULL, master) == 0, "%s",
         get_error ());
  CHECK (key_slot_open (&s, &sec, got) == 0 && !memcmp (got, master, 32),
         "key file slot: %s", get_error ());
  CHECK (key_slot_open (&s, &other, got) == -1, "other key file opened");
  CHECK (strstr (get_error (), "wrong key file"), "%s", get_error ());
  CHECK (key_slot_open (&s, &pass, got) == -1, "a passphrase opened it");
  CHECK (key_file_parse ("vmbackup-key-file 1\nkey 00\n", 26, fkey) == -1,
         "short key accepted");
  strbuf_release (&f);
  strbuf_release (&f2);
}

static void
test_slot_parse_hostile (void)
{
  static const char good[]
    = "vmbackup-key-slot 1\nid 0123456789abcdef\nlabel a\ncreated 5\n"
      "kdf scrypt n=1024 r=8 p=1\nsalt "
      "000000000000000000000000000000000000000000000000000000000000000"
      "0\nwrapped "
      "000000000000000000000000000000000000000000000000000000000000000"
      "000000000000000000000000000000000000000000000000000000000\n";
  static const char *const bad_kdf[] = {
    "scrypt n=1000 r=8 p=1",     "scrypt n=8388608 r=8 p=1",
    "scrypt n=4194304 r=32 p=1", "scrypt n=1024 r=0 p=1",
    "scrypt n=1024 r=8 p=99",    "scrypt n=01024 r=8 p=1",
    "scrypt n=1024 r=8 p=1 x",   "argon2",
  };
  struct key_slot s;

  CHECK (key_slot_parse (good, strlen (good), &s) == 0, "%s", get_error ());
  /* Every truncation is refused. */
  for (size_t n = 0; n < strlen (good); n++)
    CHECK (key_slot_parse (good, n, &s) == -1, "truncated at %zu accepted", n);
  for (size_t i = 0; i < sizeof bad_kdf / sizeof bad_kdf[0]; i++) {
    struct strbuf t = STRBUF_INIT;
    const char *k = strstr (good, "scrypt"), *e = strchr (k, '\n');
    strbuf_add (&t, good, k - good);
    strbuf_addstr (&t, bad_kdf[i]);
    strbuf_addstr (&t, e);
    CHECK (key_slot_parse (t.buf, t.len, &s) == -1, "kdf '%s' accepted",
           bad_kdf[i]);
    strbuf_release (&t);
  }
  CHECK (key_slot_parse ("vmbackup-key-slot 1\n\0", 21, &s) == -1, "NUL");
}

int
main (void)
{
  test_aead (AEAD_AES_256_GCM);
  test_aead (AEAD_CHACHA20_POLY1305);
  test_hmac ();
  test_keys ();
  test_slot_passphrase ();
  test_slot_key_file ();
  test_slot_parse_hostile ();
  return 0;
}
