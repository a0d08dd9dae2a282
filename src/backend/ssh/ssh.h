/* Repositories reached over ssh: "ssh://[USER@]HOST[:PORT]/PATH".
 *
 * remote_repo_open() runs "vmbackup serve" on HOST through the system
 * ssh client ($VMBACKUP_RSH, default "ssh"; the far binary is
 * $VMBACKUP_REMOTE_PATH, default "vmbackup") and returns a struct repo
 * whose operations go over the link, so the backup and restore code
 * needs no change.  Whole-repository work (gc, verify) runs on the
 * server, one request each. */
#ifndef VMB_REMOTE_CLIENT_H
#define VMB_REMOTE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/gc.h"
#include "repo/repo.h"
#include "repo/verify.h"

struct remote_url {
  char *user;                   /* or NULL */
  char *host;
  char *port;                   /* or NULL */
  char *path;
};

bool remote_is_url (const char *repo);
int remote_url_parse (const char *url, struct remote_url *u);
void remote_url_free (struct remote_url *u);

struct repo *remote_repo_open (const char *url);
int remote_repo_init (const char *url, uint32_t chunk_size);
bool remote_append_only (const struct repo *repo);

int remote_gc (struct repo *repo, bool dry_run, struct gc_stats *st);

struct remote_verify_result {
  uint64_t backups, chunks_read, problems;
};
/* Verify the backups named by ids (all when n is 0) on the server;
 * each problem line goes to report. */
int remote_verify (struct repo *repo, char *const *ids, size_t n,
                   verify_report_fn report, void *opaque,
                   struct remote_verify_result *res);

#endif
