/* vmbackup init */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/error.h"
#include "common/units.h"
#include "crypto/aead.h"
#include "repo/repo.h"
#include "cli.h"
#include "key_source.h"
#include "parse_options.h"

/* What a new repository gets without --encryption: everything that
 * leaves the host should be encrypted, so the clear is the opt-out. */
static const bool encrypt_by_default = true;

/* 0 for "none", else the cipher; -1 after printing. */
static int
pick_cipher (const char *name, uint32_t *cipher)
{
  enum aead_cipher c;

  if (name == NULL) {
    *cipher = encrypt_by_default ? aead_cipher_default () : 0;
    return 0;
  }
  if (strcmp (name, "none") == 0) {
    *cipher = 0;
    return 0;
  }
  if (aead_cipher_parse (name, &c) == -1) {
    cli_error ("%s", get_error ());
    return -1;
  }
  *cipher = c;
  return 0;
}

static int
init_encrypted (const char *path, uint64_t chunk, uint32_t cipher,
                const char *label)
{
  struct cli_key k;
  bool created;
  int r;

  if (cli_key_read_new_for_init (&k, path, &created) == -1)
    return -1;
  r = repo_init (path, chunk, cipher, &k.secret, label);
  cli_key_wipe (&k);
  if (r == -1) {
    cli_error ("%s", get_error ());
    if (created)
      unlink (global_key_file);
    return -1;
  }
  if (created)
    printf ("created key file %s (keep it safe: it opens the repository)\n",
            global_key_file);
  return 0;
}

/* init --key-from SOURCE: the source's master key (opened with
 * $VMBACKUP_FROM_* or the usual key), its cipher, and by default its
 * chunk size, under a first slot for the new repository's own key. */
static int
init_key_from (const char *path, const char *source, uint64_t chunk,
               const char *encryption, const char *label)
{
  struct cli_key_side side = { "from", "VMBACKUP_FROM", NULL };
  unsigned char master[MASTER_KEY_LEN];
  struct repo *src = repo_open (source);
  struct cli_key k;
  bool created;
  int r = -1;

  if (src == NULL) {
    cli_error ("--key-from %s: %s", source, get_error ());
    return -1;
  }
  if (src->encryption == 0) {
    cli_error ("--key-from %s: it is not encrypted: it has no key to share",
               source);
    goto out;
  }
  if (encryption && strcmp (encryption, aead_cipher_name (src->encryption))) {
    cli_error ("--key-from %s: its cipher is %s, not %s", source,
               aead_cipher_name (src->encryption), encryption);
    goto out;
  }
  if (cli_open_master_side (src, &side, master) == -1)
    goto out;
  if (cli_key_read_new_for_init (&k, path, &created) == 0) {
    r = repo_init_master (path, chunk ? chunk : src->chunk_size,
                          src->encryption, master, &k.secret, label);
    cli_key_wipe (&k);
    if (r == -1) {
      cli_error ("%s", get_error ());
      if (created)
        unlink (global_key_file);
    }
    else if (created)
      printf ("created key file %s (keep it safe: it opens the "
              "repository)\n",
              global_key_file);
  }
  OPENSSL_cleanse (master, sizeof master);
out:
  repo_close (src);
  return r;
}

int
cmd_init (int argc, char **argv)
{
  const char *repo_opt = NULL, *path, *encryption = NULL, *label = NULL;
  const char *key_from = NULL;
  uint64_t chunk = 0;
  uint32_t cipher;
  char buf[32];
  int c;
  /* repo_init checks the power of two and its bounds. */
  const struct opt opts[] = {
    OPT_SIZE (0, "chunk-size", &chunk, "SIZE", UINT32_MAX, "chunk size",
              "disks are cut in chunks of SIZE bytes: a power of two from "
              "64K to 16M (default 4M); it cannot change later"),
    OPT_CHOICE (0, "encryption", &encryption,
                "aes-256-gcm|chacha20-poly1305|none",
                "encrypt everything stored, with this cipher (default "
                "aes-256-gcm, or chacha20-poly1305 without AES "
                "instructions), or none; it cannot change later"),
    OPT_STRING (0, "key-label", &label, "LABEL",
                "the first key slot's label (default: passphrase or "
                "key-file)"),
    OPT_STRING (0, "key-from", &key_from, "REPO",
                "share the master key of encrypted repository REPO "
                "(opened with $VMBACKUP_FROM_KEY_FILE... or the usual key), "
                "so that 'copy' between them sends chunks as stored"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((c = parse_options ("init", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (optind != argc)
    return cli_usage_error ("init", "unexpected argument '%s'", argv[optind]);
  path = cli_repo_path (repo_opt);
  if (path == NULL)
    return EXIT_FAIL;
  if (key_from) {
    struct repo *made;
    if (init_key_from (path, key_from, chunk, encryption, label) == -1
        || (made = repo_open (path)) == NULL)
      return EXIT_FAIL;
    printf ("created repository %s (chunk size %s)\n", path,
            format_size (made->chunk_size, buf, sizeof buf));
    printf ("encryption: %s, master key shared with %s\n",
            aead_cipher_name (made->encryption), key_from);
    repo_close (made);
    return EXIT_OK;
  }
  if (chunk == 0)
    chunk = REPO_DEFAULT_CHUNK;
  if (pick_cipher (encryption, &cipher) == -1)
    return EXIT_FAIL;
  if (cipher == 0 && (label || cli_key_given ())) {
    cli_error ("%s would not be encrypted, yet a key%s was given: use "
               "--encryption aes-256-gcm or chacha20-poly1305, or give no "
               "key",
               path, label ? " label" : "");
    return EXIT_FAIL;
  }
  if (cipher ? init_encrypted (path, chunk, cipher, label) == -1
             : repo_init (path, chunk, 0, NULL, NULL) == -1) {
    if (cipher == 0)
      cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  printf ("created repository %s (chunk size %s)\n", path,
          format_size (chunk, buf, sizeof buf));
  if (cipher)
    printf ("encryption: %s (first key slot: %s)\n", aead_cipher_name (cipher),
            global_key_file ? "key file" : "passphrase");
  else
    printf ("encryption: none (not encrypted)\n");
  return EXIT_OK;
}
