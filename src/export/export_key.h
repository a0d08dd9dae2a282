/* The key of an encrypted repository for the nbdkit plugin, which runs
 * without a terminal: the sources the command line reads without
 * asking (src/cli/key_source.h), in the same order: key-file=PATH (a
 * key file or an exported master key; vmbackup export passes the
 * master key it opened this way, through a pipe), $VMBACKUP_KEY_FILE,
 * $VMBACKUP_PASSWORD_FILE (its first line), $VMBACKUP_PASSWORD. */
#ifndef VMB_EXPORT_KEY_H
#define VMB_EXPORT_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "repo/repo.h"

#define EXPORT_KEY_MAX 1024

struct export_key {
  char text[EXPORT_KEY_MAX + 1]; /* what the source held */
  size_t len;
  int kind;         /* EXPORT_KEY_* */
  char source[160]; /* for messages: "key-file /x", "$VMBACKUP_PASSWORD" */
};
enum { EXPORT_KEY_NONE, EXPORT_KEY_FILE, EXPORT_KEY_PASSPHRASE };

/* Read the key from the first source there is (key_file may be NULL);
 * none at all is not an error (kind EXPORT_KEY_NONE).  Read early,
 * before nbdkit forks: key_file may be a pipe. */
int export_key_read (struct export_key *k, const char *key_file);
/* Open repo's master key with it (*have set), or, for a repository in
 * the clear, nothing (*have false).  A repository in the clear with a
 * key given is refused (as the command line does), an encrypted one
 * without a key too. */
int export_key_open_master (struct export_key *k, struct repo *repo,
                            unsigned char master[32], bool *have);
void export_key_wipe (struct export_key *k);

#endif
