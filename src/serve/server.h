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
  /* S3 repositories (s3://BUCKET[/PREFIX], canonical: see
   * serve_s3_canonical) must be at or under one of these.  With any
   * restriction (paths or S3), a location of the other kind is refused;
   * with none, any location is served. */
  char **restrict_repos;
  size_t nrepos;
  /* Backup names must match one of these fnmatch(3) patterns (none:
   * any name): the key can list, read, reserve, commit and verify only
   * those backups. */
  char **restrict_names;
  size_t nnames;
  /* End a session that sends nothing for this many seconds (0: never),
   * so that a client that went quiet does not hold back gc for ever. */
  unsigned idle_timeout;
};

/* The canonical form of an s3:// repository URL ("s3://BUCKET" or
 * "s3://BUCKET/PREFIX", no empty, "." or ".." segment, no trailing
 * slash), malloc'd; NULL with the error set when url is not one. */
char *serve_s3_canonical (const char *url);

/* May this session use backups named name? */
bool serve_name_allowed (const struct serve_options *o, const char *name);

/* Serve one client; 0 when it closed the connection cleanly, -1 with
 * the error set when the stream could not be read as the protocol. */
int serve (const struct serve_options *o, int in_fd, int out_fd);

#endif
