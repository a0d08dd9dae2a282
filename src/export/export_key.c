/* Key sources of the nbdkit plugin (see export_key.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/error.h"
#include "crypto/keyslot.h"
#include "repo/keyring.h"
#include "export_key.h"

static const char *
env (const char *name)
{
  const char *v = getenv (name);

  return v && v[0] ? v : NULL;
}

static int
take (struct export_key *k, const char *text, size_t len, int kind)
{
  if (len == 0 || len > EXPORT_KEY_MAX) {
    set_error (EINVAL, "%s: %s", k->source,
               len == 0 ? "empty key" : "key too long");
    return -1;
  }
  memcpy (k->text, text, len);
  k->text[len] = '\0';
  k->len = len;
  k->kind = kind;
  return 0;
}

/* Not read_file: vmbackup export passes the key as /dev/fd/N, a pipe. */
static int
read_source (struct export_key *k, const char *path, bool first_line, int kind)
{
  char text[64 * 1024];
  size_t len = 0, max = first_line ? sizeof text : MASTER_EXPORT_MAX_TEXT;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  int r = -1;

  if (fd == -1) {
    set_error (errno, "%s", k->source);
    return -1;
  }
  for (;;) {
    ssize_t n = read (fd, text + len, sizeof text - len);
    if (n == -1 && errno == EINTR)
      continue;
    if (n == -1) {
      set_error (errno, "%s", k->source);
      goto out;
    }
    if (n == 0)
      break;
    len += n;
    if (len > max) {
      set_error (EFBIG, "%s: longer than %zu bytes", k->source, max);
      goto out;
    }
  }
  if (first_line && memchr (text, '\n', len))
    len = (char *) memchr (text, '\n', len) - text;
  r = take (k, text, len, kind);
out:
  close (fd);
  OPENSSL_cleanse (text, sizeof text);
  return r;
}

int
export_key_read (struct export_key *k, const char *key_file)
{
  const char *v;

  memset (k, 0, sizeof *k);
  if (key_file == NULL)
    key_file = env ("VMBACKUP_KEY_FILE");
  if (key_file) {
    snprintf (k->source, sizeof k->source, "key file %s", key_file);
    return read_source (k, key_file, false, EXPORT_KEY_FILE);
  }
  if ((v = env ("VMBACKUP_PASSWORD_FILE")) != NULL) {
    snprintf (k->source, sizeof k->source, "$VMBACKUP_PASSWORD_FILE (%s)", v);
    return read_source (k, v, true, EXPORT_KEY_PASSPHRASE);
  }
  if ((v = env ("VMBACKUP_PASSWORD")) != NULL) {
    snprintf (k->source, sizeof k->source, "$VMBACKUP_PASSWORD");
    return take (k, v, strlen (v), EXPORT_KEY_PASSPHRASE);
  }
  return 0;
}

int
export_key_open_master (struct export_key *k, struct repo *repo,
                        unsigned char master[MASTER_KEY_LEN], bool *have)
{
  unsigned char fkey[MASTER_KEY_LEN];
  struct key_secret secret = { .kind = KEY_SLOT_PASSPHRASE,
                               .data = k->text,
                               .len = k->len };
  int r;

  *have = false;
  if (repo->encryption == 0) {
    if (k->kind == EXPORT_KEY_NONE)
      return 0;
    set_error (EINVAL,
               "repository %s is not encrypted; no key is needed "
               "(refusing it, since a key was given: %s)",
               repo->path, k->source);
    return -1;
  }
  if (k->kind == EXPORT_KEY_NONE) {
    set_error (0,
               "%s is encrypted and no key was given: give key-file=PATH, "
               "$VMBACKUP_KEY_FILE, $VMBACKUP_PASSWORD_FILE or "
               "$VMBACKUP_PASSWORD",
               repo->path);
    return -1;
  }
  if (k->kind == EXPORT_KEY_FILE && keyring_is_export (k->text, k->len))
    r = keyring_import (repo, k->text, k->len, master);
  else if (k->kind == EXPORT_KEY_FILE) {
    if (key_file_parse (k->text, k->len, fkey) == -1) {
      error_prefix ("%s", k->source);
      return -1;
    }
    secret.kind = KEY_SLOT_KEY_FILE;
    secret.data = fkey;
    secret.len = MASTER_KEY_LEN;
    r = keyring_open (repo, &secret, master, NULL);
  }
  else
    r = keyring_open (repo, &secret, master, NULL);
  OPENSSL_cleanse (fkey, sizeof fkey);
  *have = r == 0;
  return r;
}

void
export_key_wipe (struct export_key *k)
{
  OPENSSL_cleanse (k, sizeof *k);
}
