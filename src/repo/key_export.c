/* The exported master key (keyring.h, keyring_export): a printable
 * form, one value per line, that 'vmbackup --key-file' takes back when
 * every key slot is lost.  The check line catches a typo made copying
 * it from paper before it is taken for a key. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/digest.h"
#include "common/error.h"
#include "crypto/aead.h"
#include "keyring.h"

#define EXPORT_MAGIC "vmbackup-master-key 1\n"
#define CHECK_HEX 8

static void
check_of (const char *text, size_t len, char out[CHECK_HEX + 1])
{
  struct digest d;
  char hex[DIGEST_HEX_LEN + 1];

  digest_compute (text, len, &d);
  digest_to_hex (&d, hex);
  memcpy (out, hex, CHECK_HEX);
  out[CHECK_HEX] = '\0';
}

void
keyring_export (const struct repo *repo,
                const unsigned char master[MASTER_KEY_LEN], struct strbuf *out)
{
  char hex[2 * MASTER_KEY_LEN + 1], check[CHECK_HEX + 1];
  size_t start = out->len;

  hex_encode (master, MASTER_KEY_LEN, hex);
  strbuf_addf (out, EXPORT_MAGIC "repository %s\ncipher %s\nkey %s\n",
               repo->id, aead_cipher_name (repo->encryption), hex);
  check_of (out->buf + start, out->len - start, check);
  strbuf_addf (out, "check %s\n", check);
  OPENSSL_cleanse (hex, sizeof hex);
}

bool
keyring_is_export (const char *text, size_t len)
{
  return len >= strlen (EXPORT_MAGIC)
    && memcmp (text, EXPORT_MAGIC, strlen (EXPORT_MAGIC)) == 0;
}

/* The value of line "KEY VALUE\n" at *p, NUL-terminated in place. */
static char *
field (char **p, const char *key)
{
  size_t n = strlen (key);
  char *nl = strchr (*p, '\n'), *v;

  if (nl == NULL || strncmp (*p, key, n) != 0 || (*p)[n] != ' ')
    return NULL;
  *nl = '\0';
  v = *p + n + 1;
  *p = nl + 1;
  return v;
}

int
keyring_import (const struct repo *repo, const char *text, size_t len,
                unsigned char master[MASTER_KEY_LEN])
{
  char buf[MASTER_EXPORT_MAX_TEXT + 1], check[CHECK_HEX + 1];
  char *p = buf, *id, *cipher, *key, *sum;
  size_t body;
  int r = -1;

  if (!keyring_is_export (text, len) || len > MASTER_EXPORT_MAX_TEXT
      || memchr (text, '\0', len)) {
    set_error (0, "not an exported vmbackup master key");
    return -1;
  }
  memcpy (buf, text, len);
  buf[len] = '\0';
  p += strlen (EXPORT_MAGIC);
  id = field (&p, "repository");
  cipher = field (&p, "cipher");
  key = field (&p, "key");
  body = p - buf;
  sum = field (&p, "check");
  if (id == NULL || cipher == NULL || key == NULL || sum == NULL || *p) {
    set_error (0,
               "exported master key: malformed (lines: repository, "
               "cipher, key, check)");
    goto out;
  }
  /* The check covers the lines as written, so compute it over a copy
   * with the newlines put back. */
  {
    char orig[MASTER_EXPORT_MAX_TEXT + 1];
    memcpy (orig, text, body);
    check_of (orig, body, check);
    OPENSSL_cleanse (orig, sizeof orig);
  }
  if (strcmp (sum, check) != 0) {
    set_error (0, "exported master key: check %s does not match (a typo?)",
               sum);
    goto out;
  }
  if (strcmp (id, repo->id) != 0) {
    set_error (0,
               "the exported master key is repository %.32s's, not "
               "%s's (%s)",
               id, repo->path, repo->id);
    goto out;
  }
  if (repo->encryption == 0
      || strcmp (cipher, aead_cipher_name (repo->encryption)) != 0) {
    set_error (0, "exported master key: cipher %.32s is not %s's", cipher,
               repo->path);
    goto out;
  }
  if (strlen (key) != 2 * MASTER_KEY_LEN
      || hex_decode (key, MASTER_KEY_LEN, master) == -1) {
    set_error (0, "exported master key: bad key line");
    goto out;
  }
  r = 0;
out:
  OPENSSL_cleanse (buf, sizeof buf);
  return r;
}
