/* vmbackup key list|add|remove|passwd|export: the key slots of an
 * encrypted repository (repo/keyring.h does the work).  Every command
 * but list opens the master key with the key given as usual, so that
 * only someone who can already read the repository changes its keys. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "repo/keyring.h"
#include "cli.h"
#include "key_source.h"
#include "parse_options.h"

static const char *
kind_name (enum key_slot_kind k)
{
  return k == KEY_SLOT_PASSPHRASE ? "passphrase" : "key-file";
}

static void
format_time (uint64_t t, char *buf, size_t len)
{
  time_t tt = (time_t) t;
  struct tm tm;

  if (gmtime_r (&tt, &tm) == NULL
      || strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf (buf, len, "%" PRIu64, t);
}

/* Parse the options of a key command that takes no or one operand. */
static int
parse (const char *name, const struct opt *opts, int argc, char **argv,
       const char **slot)
{
  int r = parse_options (name, opts, argc, argv);

  if (r != PARSE_GO_ON)
    return r;
  if (slot && optind + 1 != argc)
    return cli_usage_error (name, "%s needs one key slot ID", name);
  if (!slot && optind != argc)
    return cli_usage_error (name, "unexpected argument '%s'", argv[optind]);
  if (slot)
    *slot = argv[optind];
  return PARSE_GO_ON;
}

static struct repo *
open_encrypted (const char *repo_opt)
{
  struct repo *repo = cli_open_repo (repo_opt);

  if (repo && repo->encryption == 0) {
    cli_error ("repository %s is not encrypted; it has no keys", repo->path);
    repo_close (repo);
    return NULL;
  }
  return repo;
}

static void
print_slots (const struct key_slot *slots, size_t n, const char *opened,
             bool json)
{
  struct strbuf sb = STRBUF_INIT;
  char when[64];

  if (json)
    strbuf_addstr (&sb, "[");
  else
    strbuf_addf (&sb, "  %-16s  %-10s  %-20s  %s\n", "SLOT", "KIND", "CREATED",
                 "LABEL");
  for (size_t i = 0; i < n; i++) {
    bool mine = strcmp (slots[i].id, opened) == 0;
    format_time (slots[i].created, when, sizeof when);
    if (json) {
      strbuf_addf (&sb, "%s\n  {\"id\": \"%s\", \"kind\": \"%s\", \"label\": ",
                   i ? "," : "", slots[i].id, kind_name (slots[i].kind));
      strbuf_add_json_string (&sb, slots[i].label);
      strbuf_addf (&sb, ", \"created\": \"%s\", \"opened\": %s}", when,
                   mine ? "true" : "false");
    }
    else
      strbuf_addf (&sb, "%s %-16s  %-10s  %-20s  %s\n", mine ? "*" : " ",
                   slots[i].id, kind_name (slots[i].kind), when,
                   slots[i].label);
  }
  if (json)
    strbuf_addstr (&sb, n ? "\n]\n" : "]\n");
  fputs (sb.buf, stdout);
  strbuf_release (&sb);
}

int
cmd_key_list (int argc, char **argv)
{
  const char *repo_opt = NULL;
  struct key_slot slots[KEYRING_MAX_SLOTS];
  unsigned char master[MASTER_KEY_LEN];
  char opened[KEY_SLOT_ID_LEN + 1] = "";
  struct repo *repo;
  size_t n;
  bool json = false;
  int r;
  const struct opt opts[] = {
    OPT_FLAG (0, "json", &json, "print a JSON array of slots"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((r = parse ("key list", opts, argc, argv, NULL)) != PARSE_GO_ON)
    return r;
  repo = open_encrypted (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  /* Listing needs no key; with one given, say which slot it opens. */
  r = keyring_load (repo, slots, &n);
  if (r == -1)
    cli_error ("%s", get_error ());
  else if (cli_key_given ()) {
    r = cli_open_master (repo, master, opened);
    OPENSSL_cleanse (master, sizeof master);
  }
  if (r == 0)
    print_slots (slots, n, opened, json);
  repo_close (repo);
  return r == -1 ? EXIT_FAIL : EXIT_OK;
}

/* Add a slot for a new secret; *added gets it.  -1 after printing. */
static int
add_slot (struct repo *repo, const unsigned char *master,
          const char *new_key_file, const char *label, struct key_slot *added)
{
  struct cli_key k;
  bool created;
  int r;

  if (cli_key_read_new (&k, new_key_file, &created) == -1)
    return -1;
  r = keyring_add (repo, master, &k.secret, label, added);
  cli_key_wipe (&k);
  if (r == -1) {
    cli_error ("%s", get_error ());
    if (created)
      unlink (new_key_file);
    return -1;
  }
  printf ("added key slot %s (%s, %s)%s%s\n", added->id,
          kind_name (added->kind), added->label, created ? ": key file " : "",
          created ? new_key_file : "");
  return 0;
}

#define NEW_KEY_OPTS(new_key_file, label)                                   \
  OPT_STRING (0, "new-key-file", (new_key_file), "PATH",                    \
              "the new key is a key file, created at PATH (mode 0600; an "  \
              "existing file is refused); default: a passphrase from "      \
              "$VMBACKUP_NEW_PASSWORD or the terminal"),                    \
    OPT_STRING (0, "label", (label), "LABEL",                               \
                "the new slot's label: 1 to 64 of A-Z a-z 0-9 . _ @ : + - " \
                "(default: its kind)")

int
cmd_key_add (int argc, char **argv)
{
  const char *repo_opt = NULL, *new_key_file = NULL, *label = NULL;
  unsigned char master[MASTER_KEY_LEN];
  char opened[KEY_SLOT_ID_LEN + 1];
  struct key_slot added;
  struct repo *repo;
  int r;
  const struct opt opts[] = {
    NEW_KEY_OPTS (&new_key_file, &label),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((r = parse ("key add", opts, argc, argv, NULL)) != PARSE_GO_ON)
    return r;
  repo = open_encrypted (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  r = cli_open_master (repo, master, opened);
  if (r == 0)
    r = add_slot (repo, master, new_key_file, label, &added);
  OPENSSL_cleanse (master, sizeof master);
  repo_close (repo);
  return r == -1 ? EXIT_FAIL : EXIT_OK;
}

int
cmd_key_remove (int argc, char **argv)
{
  const char *repo_opt = NULL, *slot = NULL;
  unsigned char master[MASTER_KEY_LEN];
  char opened[KEY_SLOT_ID_LEN + 1];
  struct repo *repo;
  int r;
  const struct opt opts[] = {
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((r = parse ("key remove", opts, argc, argv, &slot)) != PARSE_GO_ON)
    return r;
  repo = open_encrypted (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  r = cli_open_master (repo, master, opened);
  OPENSSL_cleanse (master, sizeof master);
  if (r == 0 && (r = keyring_remove (repo, slot)) == -1)
    cli_error ("%s", get_error ());
  if (r == 0)
    printf ("removed key slot %s\n", slot);
  repo_close (repo);
  return r == -1 ? EXIT_FAIL : EXIT_OK;
}

int
cmd_key_passwd (int argc, char **argv)
{
  const char *repo_opt = NULL, *slot = NULL, *new_key_file = NULL;
  const char *label = NULL;
  struct key_slot slots[KEYRING_MAX_SLOTS], added;
  unsigned char master[MASTER_KEY_LEN];
  char opened[KEY_SLOT_ID_LEN + 1];
  struct repo *repo;
  size_t n;
  int r;
  const struct opt opts[] = {
    NEW_KEY_OPTS (&new_key_file, &label),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((r = parse ("key passwd", opts, argc, argv, &slot)) != PARSE_GO_ON)
    return r;
  repo = open_encrypted (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  r = keyring_load (repo, slots, &n);
  if (r == -1)
    cli_error ("%s", get_error ());
  for (size_t i = 0; r == 0 && i <= n; i++) {
    if (i == n) {
      cli_error ("%s has no key slot %s", repo->path, slot);
      r = -1;
    }
    else if (strcmp (slots[i].id, slot) == 0) {
      label = label ? label : slots[i].label; /* the slot keeps its name */
      break;
    }
  }
  if (r == 0)
    r = cli_open_master (repo, master, opened);
  /* The new slot is stored before the old goes: a crash between the two
   * leaves both, never neither. */
  if (r == 0)
    r = add_slot (repo, master, new_key_file, label, &added);
  OPENSSL_cleanse (master, sizeof master);
  if (r == 0 && (r = keyring_remove (repo, slot)) == -1)
    cli_error ("%s (the new slot %s was added)", get_error (), added.id);
  if (r == 0)
    printf ("removed key slot %s\n", slot);
  repo_close (repo);
  return r == -1 ? EXIT_FAIL : EXIT_OK;
}

int
cmd_key_export (int argc, char **argv)
{
  const char *repo_opt = NULL, *to = NULL;
  unsigned char master[MASTER_KEY_LEN];
  char opened[KEY_SLOT_ID_LEN + 1];
  struct strbuf text = STRBUF_INIT;
  struct repo *repo;
  int r;
  const struct opt opts[] = {
    OPT_STRING (0, "to", &to, "FILE",
                "write it to FILE (mode 0600; must not exist) rather than "
                "standard output"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((r = parse ("key export", opts, argc, argv, NULL)) != PARSE_GO_ON)
    return r;
  repo = open_encrypted (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  r = cli_open_master (repo, master, opened);
  if (r == 0) {
    keyring_export (repo, master, &text);
    if (to)
      r = cli_write_secret_file (to, text.buf, text.len);
    else if (fwrite (text.buf, 1, text.len, stdout) != text.len
             || fflush (stdout) != 0) {
      cli_error ("write the master key: standard output");
      r = -1;
    }
  }
  OPENSSL_cleanse (master, sizeof master);
  OPENSSL_cleanse (text.buf, text.len);
  strbuf_release (&text);
  repo_close (repo);
  if (r == 0 && to)
    printf ("wrote the master key to %s\n", to);
  return r == -1 ? EXIT_FAIL : EXIT_OK;
}
