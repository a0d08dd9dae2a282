/* The ssh backend: repositories at "ssh://[USER@]HOST[:PORT]/PATH".
 *
 * Opening one runs "vmbackup serve" on HOST through the system ssh
 * client ($VMBACKUP_RSH, default "ssh"; the far binary is
 * $VMBACKUP_REMOTE_PATH, default "vmbackup") and speaks the protocol of
 * docs/vmbackup-protocol.pod.  The server stores with the local backend
 * and checks every chunk and index it receives; gc and verify run there
 * whole, one request each. */
#ifndef VMB_BACKEND_SSH_H
#define VMB_BACKEND_SSH_H

#include <stdbool.h>

#include "backend/backend.h"

extern const struct backend_ops backend_ssh;

struct remote_url {
  char *user; /* or NULL */
  char *host;
  char *port; /* or NULL */
  char *path;
};

bool remote_is_url (const char *repo);
int remote_url_parse (const char *url, struct remote_url *u);
void remote_url_free (struct remote_url *u);

#endif
