/* Key slots and key files (see keyslot.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/digest.h"
#include "common/error.h"
#include "crypto/keyslot.h"

#define SLOT_MAGIC "vmbackup-key-slot 1"
#define KEY_FILE_MAGIC "vmbackup-key-file 1"

bool
key_slot_label_is_valid (const char *label)
{
  size_t n = strlen (label);

  if (n == 0 || n > KEY_SLOT_LABEL_MAX)
    return false;
  return strspn (label,
                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789._@:+-")
    == n;
}

/* Everything before the "wrapped" line: what the wrap authenticates. */
static void
format_header (const struct key_slot *s, struct strbuf *out)
{
  char salt[2 * KEY_SLOT_SALT_LEN + 1];

  hex_encode (s->salt, sizeof s->salt, salt);
  strbuf_addf (out, SLOT_MAGIC "\nid %s\nlabel %s\ncreated %" PRIu64 "\n",
               s->id, s->label, s->created);
  if (s->kind == KEY_SLOT_PASSPHRASE)
    strbuf_addf (out, "kdf scrypt n=%" PRIu64 " r=%u p=%u\n", s->scrypt.n,
                 s->scrypt.r, s->scrypt.p);
  else
    strbuf_addstr (out, "kdf key-file\n");
  strbuf_addf (out, "salt %s\n", salt);
}

void
key_slot_format (const struct key_slot *s, struct strbuf *out)
{
  char wrapped[2 * KEY_SLOT_WRAPPED_LEN + 1];

  format_header (s, out);
  hex_encode (s->wrapped, sizeof s->wrapped, wrapped);
  strbuf_addf (out, "wrapped %s\n", wrapped);
}

static int
wrapping_key (const struct key_slot *s, const struct key_secret *secret,
              unsigned char kek[KDF_KEY_LEN])
{
  if (secret->kind != s->kind) {
    set_error (0, "key slot %s opens with a %s, not a %s", s->id,
               s->kind == KEY_SLOT_PASSPHRASE ? "passphrase" : "key file",
               secret->kind == KEY_SLOT_PASSPHRASE ? "passphrase"
                                                   : "key file");
    return -1;
  }
  if (s->kind == KEY_SLOT_PASSPHRASE)
    return kdf_scrypt (secret->data, secret->len, s->salt, sizeof s->salt,
                       &s->scrypt, kek);
  if (secret->len != MASTER_KEY_LEN) {
    set_error (0, "a key file's key is %d bytes", MASTER_KEY_LEN);
    return -1;
  }
  return kdf_hkdf (secret->data, s->salt, sizeof s->salt,
                   "vmbackup key-file slot", kek);
}

int
key_slot_create (struct key_slot *s, const char *label, uint64_t created,
                 const struct key_secret *secret,
                 const struct scrypt_params *sp,
                 const unsigned char master[MASTER_KEY_LEN])
{
  unsigned char id[KEY_SLOT_ID_LEN / 2], kek[KDF_KEY_LEN];
  struct strbuf aad = STRBUF_INIT;
  int r;

  if (!key_slot_label_is_valid (label)) {
    set_error (0,
               "key label '%s' is not 1 to %d characters of "
               "A-Z a-z 0-9 . _ @ : + -",
               label, KEY_SLOT_LABEL_MAX);
    return -1;
  }
  memset (s, 0, sizeof *s);
  if (RAND_bytes (id, sizeof id) != 1
      || RAND_bytes (s->salt, sizeof s->salt) != 1) {
    set_error (0, "no random bytes for a key slot");
    return -1;
  }
  hex_encode (id, sizeof id, s->id);
  snprintf (s->label, sizeof s->label, "%s", label);
  s->created = created;
  s->kind = secret->kind;
  if (s->kind == KEY_SLOT_PASSPHRASE)
    s->scrypt = *sp;
  if (wrapping_key (s, secret, kek) == -1)
    return -1;
  format_header (s, &aad);
  r = aead_seal (AEAD_AES_256_GCM, kek, aad.buf, aad.len, master,
                 MASTER_KEY_LEN, s->wrapped);
  OPENSSL_cleanse (kek, sizeof kek);
  strbuf_release (&aad);
  return r;
}

int
key_slot_open (const struct key_slot *s, const struct key_secret *secret,
               unsigned char master[MASTER_KEY_LEN])
{
  unsigned char kek[KDF_KEY_LEN];
  struct strbuf aad = STRBUF_INIT;
  int r;

  if (wrapping_key (s, secret, kek) == -1)
    return -1;
  format_header (s, &aad);
  r = aead_open (AEAD_AES_256_GCM, kek, aad.buf, aad.len, s->wrapped,
                 sizeof s->wrapped, master);
  OPENSSL_cleanse (kek, sizeof kek);
  strbuf_release (&aad);
  if (r == -1)
    set_error (0, "key slot %s: wrong %s", s->id,
               s->kind == KEY_SLOT_PASSPHRASE ? "passphrase" : "key file");
  return r;
}

/* The value of the next line if it starts with "key ", NULL otherwise;
 * the line ends at '\n', which becomes '\0'. */
static char *
take_line (char **p, const char *key)
{
  size_t n = strlen (key);
  char *nl = strchr (*p, '\n'), *value;

  if (nl == NULL || strncmp (*p, key, n) != 0 || (*p)[n] != ' ')
    return NULL;
  *nl = '\0';
  value = *p + n + 1;
  *p = nl + 1;
  return value;
}

static int
parse_u64 (const char *s, uint64_t max, uint64_t *out)
{
  char *end;

  if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1]))
    return -1;
  errno = 0;
  *out = strtoull (s, &end, 10);
  return errno || *end || *out > max ? -1 : 0;
}

/* "KEY=DIGITS" followed by sep ('\0' or ' '), exactly; advances *p. */
static int
take_number (const char **p, const char *key, char sep, uint64_t max,
             uint64_t *out)
{
  size_t n = strlen (key), digits;
  char num[24];

  if (strncmp (*p, key, n) != 0)
    return -1;
  *p += n;
  digits = strspn (*p, "0123456789");
  if (digits == 0 || digits >= sizeof num || (*p)[digits] != sep)
    return -1;
  memcpy (num, *p, digits);
  num[digits] = '\0';
  *p += digits + (sep != '\0');
  return parse_u64 (num, max, out);
}

static int
parse_kdf (const char *v, struct key_slot *s)
{
  uint64_t n, r, p;

  if (strcmp (v, "key-file") == 0) {
    s->kind = KEY_SLOT_KEY_FILE;
    return 0;
  }
  /* Exactly the text key_slot_format writes: the wrap authenticates it. */
  if (take_number (&v, "scrypt n=", ' ', UINT64_MAX, &n) == -1
      || take_number (&v, "r=", ' ', UINT32_MAX, &r) == -1
      || take_number (&v, "p=", '\0', UINT32_MAX, &p) == -1) {
    set_error (0, "kdf line is not 'scrypt n=N r=R p=P' or 'key-file'");
    return -1;
  }
  s->kind = KEY_SLOT_PASSPHRASE;
  s->scrypt = (struct scrypt_params) { .n = n, .r = r, .p = p };
  return scrypt_params_check (&s->scrypt);
}

int
key_slot_parse (const char *text, size_t len, struct key_slot *s)
{
  char buf[KEY_SLOT_MAX_TEXT + 1], *p = buf, *v;
  uint64_t created;

  memset (s, 0, sizeof *s);
  if (len > KEY_SLOT_MAX_TEXT || memchr (text, '\0', len)) {
    set_error (0, "not a key slot (too large or binary)");
    return -1;
  }
  memcpy (buf, text, len);
  buf[len] = '\0';
  if (strncmp (p, SLOT_MAGIC "\n", sizeof SLOT_MAGIC) != 0) {
    set_error (0, "not a vmbackup key slot");
    return -1;
  }
  p += sizeof SLOT_MAGIC;
#define BAD(what)                                 \
  do {                                            \
    set_error (0, "key slot: bad %s line", what); \
    return -1;                                    \
  } while (0)
  if ((v = take_line (&p, "id")) == NULL || strlen (v) != KEY_SLOT_ID_LEN
      || strspn (v, "0123456789abcdef") != KEY_SLOT_ID_LEN)
    BAD ("id");
  memcpy (s->id, v, KEY_SLOT_ID_LEN + 1);
  if ((v = take_line (&p, "label")) == NULL || !key_slot_label_is_valid (v))
    BAD ("label");
  memcpy (s->label, v, strlen (v) + 1);
  if ((v = take_line (&p, "created")) == NULL
      || parse_u64 (v, INT64_MAX, &created) == -1)
    BAD ("created");
  s->created = created;
  if ((v = take_line (&p, "kdf")) == NULL)
    BAD ("kdf");
  if (parse_kdf (v, s) == -1) {
    error_prefix ("key slot %s", s->id);
    return -1;
  }
  if ((v = take_line (&p, "salt")) == NULL
      || hex_decode (v, sizeof s->salt, s->salt) == -1)
    BAD ("salt");
  if ((v = take_line (&p, "wrapped")) == NULL
      || hex_decode (v, sizeof s->wrapped, s->wrapped) == -1)
    BAD ("wrapped");
  if (*p)
    BAD ("trailing");
#undef BAD
  return 0;
}

int
key_file_generate (struct strbuf *out)
{
  unsigned char key[MASTER_KEY_LEN];
  char hex[2 * MASTER_KEY_LEN + 1];

  if (RAND_bytes (key, sizeof key) != 1) {
    set_error (0, "no random bytes for a key file");
    return -1;
  }
  hex_encode (key, sizeof key, hex);
  strbuf_addf (out, KEY_FILE_MAGIC "\nkey %s\n", hex);
  OPENSSL_cleanse (key, sizeof key);
  OPENSSL_cleanse (hex, sizeof hex);
  return 0;
}

int
key_file_parse (const char *text, size_t len,
                unsigned char key[MASTER_KEY_LEN])
{
  char buf[KEY_FILE_MAX_TEXT + 1], *p = buf, *v;
  int r = -1;

  if (len > KEY_FILE_MAX_TEXT || memchr (text, '\0', len)) {
    set_error (0, "not a vmbackup key file (too large or binary)");
    return -1;
  }
  memcpy (buf, text, len);
  buf[len] = '\0';
  if (strncmp (p, KEY_FILE_MAGIC "\n", sizeof KEY_FILE_MAGIC) != 0)
    set_error (0, "not a vmbackup key file");
  else if (p += sizeof KEY_FILE_MAGIC,
           (v = take_line (&p, "key")) == NULL
             || hex_decode (v, MASTER_KEY_LEN, key) == -1 || *p)
    set_error (0, "key file: bad key line");
  else
    r = 0;
  OPENSSL_cleanse (buf, sizeof buf);
  return r;
}
