/* The far end of a remote repository: "vmbackup serve" (typically the
 * forced command of an ssh key) answers the protocol on its standard
 * input and output for one client, then ends its session: unpublished
 * chunks, unfinished index uploads and unused backup IDs are dropped,
 * as a local backup that stopped would leave them. */
#ifndef VMB_REMOTE_SERVER_H
#define VMB_REMOTE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct serve_options {
  /* Add backups and read them, never delete, gc or replace anything. */
  bool append_only;
  /* Repositories must be at or under one of these (none: anywhere). */
  char **restrict_paths;
  size_t nrestrict;
  /* Backup names must match one of these fnmatch(3) patterns (none:
   * any name): the key can list, read, reserve, commit and verify only
   * those backups. */
  char **restrict_names;
  size_t nnames;
  /* End a session that sends nothing for this many seconds (0: never),
   * so that a client that went quiet does not hold back gc for ever. */
  unsigned idle_timeout;
};

/* May this session use backups named name? */
bool serve_name_allowed (const struct serve_options *o, const char *name);

/* Serve one client; 0 when it closed the connection cleanly, -1 with
 * the error set when the stream could not be read as the protocol. */
int serve (const struct serve_options *o, int in_fd, int out_fd);

#endif
