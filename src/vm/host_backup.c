/* vmbackup backup --host: the host's configuration as a backup of kind
 * "host" (host_config.h), named "host-HOSTNAME". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "repo/backup_file.h"
#include "repo/store.h"
#include "host_capture.h"
#include "host_config.h"

static int
backup_name (char out[NAME_MAX_LEN + 1])
{
  char hostname[256] = "", name[300];

  gethostname (hostname, sizeof hostname - 1);
  snprintf (name, sizeof name, "host-%.58s", hostname);
  return backup_name_of (name, out);
}

/* Store the document and commit the manifest (its ID reserved). */
static int
keep (struct repo *repo, struct manifest *m, const char *doc, int level)
{
  struct manifest_file f = { .role = HOST_CONFIG_ROLE,
                             .path = "host.json",
                             .size = strlen (doc) };
  struct store store;
  int r = -1;

  if (store_begin (&store, repo) == -1)
    return -1;
  if (backup_buffer (&store, level, doc, f.size, &f.index) == 0) {
    m->files.ptr = &f;
    m->files.len = m->files.cap = 1;
    m->finished = time (NULL);
    r = manifest_commit (repo, m);
    m->files.ptr = NULL;
    m->files.len = m->files.cap = 0;
  }
  store_end (&store);
  return r;
}

int
backup_host_config (struct repo *repo, struct vm_host *h,
                    const struct host_backup_opts *o, char **id)
{
  char name[NAME_MAX_LEN + 1];
  struct manifest m = { .name = name,
                        .kind = "host",
                        .consistency = "live",
                        .time = time (NULL),
                        .chunk_size = repo->chunk_size };
  bool with_values = repo->encryption != 0 && !o->no_secret_values;
  size_t values, unreadable;
  char *doc;
  int r;

  if (backup_name (name) == -1)
    return -1;
  doc = host_capture (h, with_values, &values, &unreadable);
  if (doc == NULL)
    return -1;
  if (values && repo->encryption == 0 && !o->no_secret_values) {
    free (doc);
    set_error (0,
               "the host has %zu secret value%s and the repository is in "
               "the clear: keep them in an encrypted repository, or give "
               "--no-secret-values",
               values, values == 1 ? "" : "s");
    return -1;
  }
  if (manifest_reserve (repo, &m) == -1) {
    free (doc);
    return -1;
  }
  event_log_reset (o->events, name, m.id);
  event_emit (o->events, EV_BACKUP_STARTED,
              "backup of the host's configuration");
  if (unreadable || (values && !with_values))
    event_emit (o->events, EV_HOST_SECRET_NO_VALUE,
                "%zu secret%s kept without %s value (%s)",
                unreadable + (with_values ? 0 : values),
                unreadable + (with_values ? 0 : values) == 1 ? "" : "s",
                unreadable + (with_values ? 0 : values) == 1 ? "its" : "their",
                with_values ? "libvirt keeps private values to itself"
                            : "--no-secret-values");
  r = keep (repo, &m, doc, o->level);
  free (doc);
  if (r == 0) {
    event_emit (o->events, EV_BACKUP_FINISHED, "backup finished");
    *id = m.id;
    return 0;
  }
  char saved[1024];
  snprintf (saved, sizeof saved, "%s", get_error ());
  event_emit (o->events, EV_BACKUP_FAILED, "%s", saved);
  manifest_unreserve (repo, &m);
  free (m.id);
  set_error (0, "%s", saved);
  return -1;
}
