/* Key sources for encrypted repositories (see key_source.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "cli.h"
#include "key_source.h"
#include "prompt.h"

const char *global_key_file;

/* How often a passphrase typed at the terminal may be tried. */
#define PROMPT_TRIES 3

#define SOURCES                                                           \
  "give --key-file PATH, $VMBACKUP_KEY_FILE, $VMBACKUP_PASSWORD_FILE or " \
  "$VMBACKUP_PASSWORD, or run on a terminal to be asked"

static const char *
env (const char *name)
{
  const char *v = getenv (name);

  return v && v[0] ? v : NULL;
}

bool
cli_key_given (void)
{
  return global_key_file || env ("VMBACKUP_PASSWORD_FILE")
    || env ("VMBACKUP_PASSWORD");
}

void
cli_key_wipe (struct cli_key *k)
{
  OPENSSL_cleanse (k->buf, sizeof k->buf);
  k->len = 0;
  k->secret.data = NULL;
  k->secret.len = 0;
}

static void
set_secret (struct cli_key *k, enum key_slot_kind kind)
{
  k->secret.kind = kind;
  k->secret.data = k->buf;
  k->secret.len = k->len;
}

static int
set_passphrase (struct cli_key *k, const char *p, size_t len)
{
  if (len == 0) {
    cli_error ("%s: empty passphrase", k->source);
    return -1;
  }
  if (len > CLI_SECRET_MAX) {
    cli_error ("%s: passphrase longer than %d bytes", k->source,
               CLI_SECRET_MAX);
    return -1;
  }
  memcpy (k->buf, p, len);
  k->len = len;
  set_secret (k, KEY_SLOT_PASSPHRASE);
  return 0;
}

/* A key file or an exported master key. */
static int
read_key_file (struct cli_key *k, const char *path, bool export_ok)
{
  char *text = NULL;
  size_t len;
  int r = -1;

  snprintf (k->source, sizeof k->source, "--key-file %s", path);
  if (read_file (path, MASTER_EXPORT_MAX_TEXT, &text, &len) == -1) {
    cli_error ("key file %s", get_error ());
    return -1;
  }
  if (keyring_is_export (text, len)) {
    if (!export_ok)
      cli_error ("%s: an exported master key opens a repository; it "
                 "cannot be a new key",
                 path);
    else {
      memcpy (k->buf, text, len);
      k->len = len;
      k->is_export = true;
      r = 0;
    }
  }
  else if (key_file_parse (text, len, k->buf) == -1)
    cli_error ("%s: %s", path, get_error ());
  else {
    k->len = MASTER_KEY_LEN;
    set_secret (k, KEY_SLOT_KEY_FILE);
    r = 0;
  }
  OPENSSL_cleanse (text, len);
  free (text);
  return r;
}

/* $VMBACKUP_PASSWORD_FILE (or var): its first line, without the
 * newline. */
static int
read_password_file (struct cli_key *k, const char *var, const char *path)
{
  char *text = NULL;
  size_t len;
  int r;

  snprintf (k->source, sizeof k->source, "$%s (%s)", var, path);
  if (read_file (path, 64 * 1024, &text, &len) == -1) {
    cli_error ("%s: %s", var, get_error ());
    return -1;
  }
  len = strcspn (text, "\n");
  r = set_passphrase (k, text, len);
  OPENSSL_cleanse (text, len);
  free (text);
  return r;
}

static int
ask (struct cli_key *k, const char *prompt, const char *again)
{
  char first[CLI_SECRET_MAX + 2], second[CLI_SECRET_MAX + 2];
  size_t n1, n2;
  int r = -1;

  snprintf (k->source, sizeof k->source, "the terminal");
  k->typed = true;
  if (prompt_secret (prompt, first, sizeof first, &n1) == -1) {
    cli_error ("%s", get_error ());
    return -1;
  }
  if (again && prompt_secret (again, second, sizeof second, &n2) == -1)
    cli_error ("%s", get_error ());
  else if (again && (n1 != n2 || memcmp (first, second, n1) != 0))
    cli_error ("the passphrases do not match");
  else
    r = set_passphrase (k, first, n1);
  OPENSSL_cleanse (first, sizeof first);
  OPENSSL_cleanse (second, sizeof second);
  return r;
}

/* $PREFIX_NAME, e.g. $VMBACKUP_FROM_PASSWORD. */
static const char *
side_env (const struct cli_key_side *side, const char *name, char *var,
          size_t len)
{
  snprintf (var, len, "%s_%s", side->prefix, name);
  return env (var);
}

static const char *
side_key_file (const struct cli_key_side *side)
{
  char var[64];

  return side->key_file ? side->key_file
                        : side_env (side, "KEY_FILE", var, sizeof var);
}

bool
cli_key_side_given (const struct cli_key_side *side)
{
  char var[64];

  return side_key_file (side)
    || side_env (side, "PASSWORD_FILE", var, sizeof var)
    || side_env (side, "PASSWORD", var, sizeof var);
}

/* One side's own sources; 1 when it has none. */
static int
read_side (struct cli_key *k, const struct cli_key_side *side)
{
  char var[64];
  const char *v;

  if ((v = side_key_file (side)) != NULL)
    return read_key_file (k, v, true);
  if ((v = side_env (side, "PASSWORD_FILE", var, sizeof var)) != NULL)
    return read_password_file (k, var, v);
  if ((v = side_env (side, "PASSWORD", var, sizeof var)) != NULL) {
    snprintf (k->source, sizeof k->source, "$%s", var);
    return set_passphrase (k, v, strlen (v));
  }
  return 1;
}

static int
key_read (struct cli_key *k, const struct cli_key_side *side, bool prompt_ok,
          const char *repo)
{
  const char *v;
  char prompt[512];
  int r;

  memset (k, 0, sizeof *k);
  if (side && (r = read_side (k, side)) != 1)
    return r;
  if (global_key_file)
    return read_key_file (k, global_key_file, true);
  if ((v = env ("VMBACKUP_PASSWORD_FILE")) != NULL)
    return read_password_file (k, "VMBACKUP_PASSWORD_FILE", v);
  if ((v = env ("VMBACKUP_PASSWORD")) != NULL) {
    snprintf (k->source, sizeof k->source, "$VMBACKUP_PASSWORD");
    return set_passphrase (k, v, strlen (v));
  }
  if (!prompt_ok || !prompt_available ()) {
    cli_error ("%s is encrypted and no key was given: " SOURCES, repo);
    return -1;
  }
  snprintf (prompt, sizeof prompt, "Passphrase for %s: ", repo);
  return ask (k, prompt, NULL);
}

int
cli_key_read (struct cli_key *k, bool prompt_ok, const char *repo)
{
  return key_read (k, NULL, prompt_ok, repo);
}

/* A new key file at path (0600, never over an existing file). */
static int
make_key_file (struct cli_key *k, const char *path)
{
  struct strbuf text = STRBUF_INIT;
  int r = -1;

  if (key_file_generate (&text) == -1)
    cli_error ("%s", get_error ());
  else if (cli_write_secret_file (path, text.buf, text.len) == 0) {
    r = key_file_parse (text.buf, text.len, k->buf);
    k->len = MASTER_KEY_LEN;
    set_secret (k, KEY_SLOT_KEY_FILE);
    snprintf (k->source, sizeof k->source, "key file %s", path);
  }
  OPENSSL_cleanse (text.buf, text.len);
  strbuf_release (&text);
  return r;
}

int
cli_key_read_new_for_init (struct cli_key *k, const char *repo, bool *created)
{
  char prompt[512];

  *created = false;
  memset (k, 0, sizeof *k);
  if (global_key_file && access (global_key_file, F_OK) == -1
      && errno == ENOENT) {
    if (make_key_file (k, global_key_file) == -1)
      return -1;
    *created = true;
    return 0;
  }
  if (global_key_file)
    return read_key_file (k, global_key_file, false);
  if (cli_key_given ())
    return cli_key_read (k, false, repo);
  if (!prompt_available ()) {
    cli_error ("no key for the new encrypted repository %s: " SOURCES, repo);
    return -1;
  }
  snprintf (prompt, sizeof prompt, "New passphrase for %s: ", repo);
  return ask (k, prompt, "Repeat the passphrase: ");
}

int
cli_key_read_new (struct cli_key *k, const char *new_key_file, bool *created)
{
  const char *v;

  *created = false;
  memset (k, 0, sizeof *k);
  if (new_key_file) {
    if (make_key_file (k, new_key_file) == -1)
      return -1;
    *created = true;
    return 0;
  }
  if ((v = env ("VMBACKUP_NEW_PASSWORD")) != NULL) {
    snprintf (k->source, sizeof k->source, "$VMBACKUP_NEW_PASSWORD");
    return set_passphrase (k, v, strlen (v));
  }
  if (!prompt_available ()) {
    cli_error ("no new key: give --new-key-file PATH or "
               "$VMBACKUP_NEW_PASSWORD, or run on a terminal to be asked");
    return -1;
  }
  return ask (k, "New passphrase: ", "Repeat the new passphrase: ");
}

int
cli_write_secret_file (const char *path, const void *buf, size_t len)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 0600);

  if (fd == -1) {
    cli_error ("%s: %s%s", path, strerror (errno),
               errno == EEXIST ? " (a key is never written over a file)" : "");
    return -1;
  }
  if (write_full (fd, buf, len, -1) == -1 || fsync (fd) == -1) {
    cli_error ("write %s: %s", path, strerror (errno));
    close (fd);
    unlink (path);
    return -1;
  }
  close (fd);
  return 0;
}

static int
open_master (struct repo *repo, const struct cli_key_side *side,
             unsigned char master[MASTER_KEY_LEN],
             char opened[KEY_SLOT_ID_LEN + 1])
{
  struct cli_key k;
  int r;

  if (repo->encryption == 0) {
    cli_error ("repository %s is not encrypted; it has no keys", repo->path);
    return -1;
  }
  /* A passphrase typed at the prompt may be mistyped: ask again, as
   * sudo and ssh do, up to PROMPT_TRIES times; a key from a file or the
   * environment gets one try. */
  for (int tries = 1;; tries++) {
    if (key_read (&k, side, true, repo->path) == -1)
      return -1;
    opened[0] = '\0';
    if (k.is_export)
      r = keyring_import (repo, (const char *) k.buf, k.len, master);
    else
      r = keyring_open (repo, &k.secret, master, opened);
    cli_key_wipe (&k);
    if (r == 0 || !k.typed || tries == PROMPT_TRIES)
      break;
    cli_warning ("%s; try again", get_error ());
  }
  if (r == -1)
    cli_error ("%s", get_error ());
  return r;
}

int
cli_open_master (struct repo *repo, unsigned char master[MASTER_KEY_LEN],
                 char opened[KEY_SLOT_ID_LEN + 1])
{
  return open_master (repo, NULL, master, opened);
}

int
cli_open_master_side (struct repo *repo, const struct cli_key_side *side,
                      unsigned char master[MASTER_KEY_LEN])
{
  char opened[KEY_SLOT_ID_LEN + 1];

  return open_master (repo, side, master, opened);
}

static int
unlock_with (struct repo *repo, const struct cli_key_side *side)
{
  unsigned char master[MASTER_KEY_LEN];
  char opened[KEY_SLOT_ID_LEN + 1];
  int r;

  if (open_master (repo, side, master, opened) == -1)
    return -1;
  r = repo_unlock_master (repo, master);
  OPENSSL_cleanse (master, sizeof master);
  if (r == -1)
    cli_error ("%s", get_error ());
  return r;
}

int
cli_repo_keys_side (struct repo *repo, const struct cli_key_side *side)
{
  if (repo->encryption)
    return unlock_with (repo, side);
  /* The usual key may be meant for the other side; a key given for
   * this side expects it encrypted (cli_repo_keys says why that
   * matters). */
  if (cli_key_side_given (side)) {
    cli_error ("repository %s is not encrypted; no key is needed (refusing "
               "it, since a key was given for it: --%s-key-file or $%s_*)",
               repo->path, side->name, side->prefix);
    return -1;
  }
  return 0;
}

int
cli_repo_keys (struct repo *repo, enum cli_key_use use)
{
  if (use == KEY_UNUSED)
    return 0;
  if (repo->encryption == 0) {
    if (!cli_key_given ())
      return 0;
    /* Someone who can rewrite the config must not turn an encrypted
     * repository into one we write plaintext into: a client that holds
     * a key expects encryption. */
    cli_error ("repository %s is not encrypted; no key is needed (refusing "
               "it, since a key was given: --key-file, "
               "$VMBACKUP_KEY_FILE, $VMBACKUP_PASSWORD_FILE or "
               "$VMBACKUP_PASSWORD)",
               repo->path);
    return -1;
  }
  if (use == KEY_IF_GIVEN && !cli_key_given ())
    return 0;
  return unlock_with (repo, NULL);
}
