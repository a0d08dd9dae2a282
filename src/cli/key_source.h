/* Where the key of an encrypted repository comes from, in this order:
 * --key-file PATH (a key file, or an exported master key), then
 * $VMBACKUP_PASSWORD_FILE (its first line), then $VMBACKUP_PASSWORD,
 * then a prompt on the terminal (/dev/tty, never echoed).  New secrets
 * (init, key add, key passwd) come from --new-key-file,
 * $VMBACKUP_NEW_PASSWORD or the prompt, asked twice.
 *
 * Every secret read here lives in a struct cli_key and is wiped by
 * cli_key_wipe. */
#ifndef VMB_CLI_KEY_SOURCE_H
#define VMB_CLI_KEY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/keyslot.h"
#include "repo/keyring.h"
#include "repo/repo.h"
#include "cli.h"

#define CLI_SECRET_MAX 1024

struct cli_key {
  bool is_export; /* text holds an exported master key */
  struct key_secret secret;
  unsigned char buf[CLI_SECRET_MAX + 1];
  size_t len;
  char source[128]; /* "--key-file k", "$VMBACKUP_PASSWORD": for messages */
  bool typed;       /* asked on the terminal: a mistake may be retyped */
};

extern const char *global_key_file; /* --key-file PATH */

/* Is a key given without asking (--key-file or an environment
 * variable)? */
bool cli_key_given (void);
/* The key from the first source there is.  prompt_ok: may ask on the
 * terminal.  -1 after printing one line. */
int cli_key_read (struct cli_key *k, bool prompt_ok, const char *repo);
/* A new secret for init (the usual sources: confirm a prompt twice;
 * --key-file PATH that does not exist is created) or for key add and
 * passwd (new_key_file, $VMBACKUP_NEW_PASSWORD, a prompt twice).
 * *created: a key file was made here (remove it if what follows
 * fails). */
int cli_key_read_new_for_init (struct cli_key *k, const char *repo,
                               bool *created);
int cli_key_read_new (struct cli_key *k, const char *new_key_file,
                      bool *created);
void cli_key_wipe (struct cli_key *k);
/* Create path (0600; refused if it exists) holding buf, synced. */
int cli_write_secret_file (const char *path, const void *buf, size_t len);

/* Open repo's master key with the key from cli_key_read (prompting if
 * there is no other source).  opened gets the slot ID ("" for an
 * exported master key).  -1 after printing one line. */
int cli_open_master (struct repo *repo, unsigned char master[MASTER_KEY_LEN],
                     char opened[KEY_SLOT_ID_LEN + 1]);

/* One side of a copy (cmd_copy.c): its own key sources come first,
 * then the usual ones.  name "from": --from-key-file (key_file), else
 * $VMBACKUP_FROM_KEY_FILE, $VMBACKUP_FROM_PASSWORD_FILE,
 * $VMBACKUP_FROM_PASSWORD (prefix "VMBACKUP_FROM"). */
struct cli_key_side {
  const char *name;     /* "from", "to" */
  const char *prefix;   /* "VMBACKUP_FROM" */
  const char *key_file; /* --from-key-file PATH, or NULL */
};
/* Are any of the side's own sources given? */
bool cli_key_side_given (const struct cli_key_side *side);
/* Unlock repo if it is encrypted, with the side's key; a repository in
 * the clear with a key given for its side is refused.  -1 after
 * printing. */
int cli_repo_keys_side (struct repo *repo, const struct cli_key_side *side);

/* Open repo's master key with the side's key (init --key-from).  -1
 * after printing. */
int cli_open_master_side (struct repo *repo, const struct cli_key_side *side,
                          unsigned char master[MASTER_KEY_LEN]);

/* After opening repo for a command of that use: unlock it, or refuse a
 * key given for a repository in the clear.  -1 after printing. */
int cli_repo_keys (struct repo *repo, enum cli_key_use use);

#endif
