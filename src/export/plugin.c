/* nbdkit-vmbackup-plugin: serves one disk of a backup, read-only, over
 * NBD (docs/vmbackup.pod, EXPORT):
 *
 *   nbdkit nbdkit-vmbackup-plugin.so repo=DIR|URL backup=ID [disk=vda]
 *          [key-file=PATH] [cache=SIZE] [event-log=PATH]
 *
 * Reads go through a disk reader (engine/disk_reader.h): each chunk is
 * decoded once into a bounded cache shared by nbdkit's threads; block
 * status comes from the disk's index without reading a chunk.  A chunk
 * that cannot be read, or is damaged, fails the read of its range with
 * EIO and writes an event: the client never sees wrong data.
 *
 * Everything is checked before nbdkit listens (get_ready: repository,
 * key, backup, disk, index), so bad parameters fail before anything is
 * served; but the repository is opened for serving only after nbdkit
 * forks into the background (after_fork): an ssh connection and its
 * threads do not survive a fork.  The key is read at configuration (it
 * may come through a pipe) and the master key kept between the two. */
#define NBDKIT_API_VERSION 2
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nbdkit-plugin.h>
#include <openssl/crypto.h>

#include "common/error.h"
#include "common/events.h"
#include "engine/disk_reader.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "export_key.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

static const char *repo_path, *backup_id, *disk_name, *key_file,
  *event_log_path;
static int64_t cache_bytes = DISK_READER_DEFAULT_CACHE;

static char *resolved_id; /* backup_id as get_ready resolved it */
static struct export_key key;
static unsigned char master[32];
static bool have_master;
static struct repo *repo;
static struct manifest *manifest;
static struct disk_reader *reader;

/* Events from reads on many threads: one writer at a time. */
static pthread_mutex_t events_lock = PTHREAD_MUTEX_INITIALIZER;
static struct event_log events = { .fd = -1 };

static void close_all (void);

static void
vmbackup_unload (void)
{
  close_all ();
  free (resolved_id);
  event_log_close (&events);
  export_key_wipe (&key);
  OPENSSL_cleanse (master, sizeof master);
}

static int
vmbackup_config (const char *k, const char *value)
{
  if (strcmp (k, "repo") == 0)
    repo_path = value;
  else if (strcmp (k, "backup") == 0)
    backup_id = value;
  else if (strcmp (k, "disk") == 0)
    disk_name = value;
  else if (strcmp (k, "key-file") == 0)
    key_file = value;
  else if (strcmp (k, "event-log") == 0)
    event_log_path = value;
  else if (strcmp (k, "cache") == 0) {
    cache_bytes = nbdkit_parse_size (value);
    if (cache_bytes == -1)
      return -1;
  }
  else {
    nbdkit_error ("unknown parameter '%s'", k);
    return -1;
  }
  return 0;
}

static int
vmbackup_config_complete (void)
{
  if (repo_path == NULL || backup_id == NULL) {
    nbdkit_error ("repo=DIR|URL and backup=ID are required");
    return -1;
  }
  if (export_key_read (&key, key_file) == -1) {
    nbdkit_error ("%s", get_error ());
    return -1;
  }
  return 0;
}

#define vmbackup_config_help                                                 \
  "repo=DIR|URL    (required) the repository\n"                              \
  "backup=ID       (required) NAME (its latest backup) or NAME/STAMP\n"      \
  "disk=TARGET     the disk (vda); needed when the backup has several\n"     \
  "key-file=PATH   key file or exported master key of an encrypted\n"        \
  "                repository (else $VMBACKUP_KEY_FILE, ...PASSWORD_FILE,\n" \
  "                $VMBACKUP_PASSWORD)\n"                                    \
  "cache=SIZE      decoded chunks kept in memory (default 64M)\n"            \
  "event-log=PATH  where events go (else $VMBACKUP_EVENT_LOG, or the\n"      \
  "                default log)"

static const struct manifest_disk *
find_disk (void)
{
  const struct manifest_disk *disk = NULL;

  for (size_t i = 0; i < manifest->disks.len; i++)
    if (disk_name ? strcmp (manifest->disks.ptr[i].name, disk_name) == 0
                  : manifest->disks.len == 1)
      disk = &manifest->disks.ptr[i];
  if (disk == NULL && disk_name)
    nbdkit_error ("backup %s has no disk %s", manifest->id, disk_name);
  else if (disk == NULL)
    nbdkit_error ("backup %s has %zu disks: choose one with disk=TARGET",
                  manifest->id, manifest->disks.len);
  return disk;
}

/* The host event log: a configured one must open; the default may not
 * be writable (not root), and then events go only to nbdkit's log. */
static int
open_events (void)
{
  const char *path = event_log_path;

  if (path == NULL)
    path = getenv ("VMBACKUP_EVENT_LOG");
  if (event_log_open (&events, path) == -1) {
    if (path && path[0]) {
      nbdkit_error ("%s", get_error ());
      return -1;
    }
    nbdkit_debug ("no host event log: %s", get_error ());
    memset (&events, 0, sizeof events);
    events.fd = -1;
  }
  event_log_reset (&events, manifest->name, manifest->id);
  return 0;
}

/* Open the repository, the backup and its disk's reader. */
static int
open_all (void)
{
  const struct manifest_disk *disk;

  repo = repo_open (repo_path);
  if (repo == NULL) {
    nbdkit_error ("%s", get_error ());
    return -1;
  }
  if (have_master && repo_unlock_master (repo, master) == -1) {
    nbdkit_error ("%s", get_error ());
    return -1;
  }
  /* NAME means its latest backup: the same one at both opens. */
  manifest = manifest_resolve (repo, resolved_id ? resolved_id : backup_id);
  if (manifest == NULL) {
    nbdkit_error ("%s", get_error ());
    return -1;
  }
  if (manifest->archive.present) {
    nbdkit_error ("backup %s is a files backup: it has no disk to export",
                  manifest->id);
    return -1;
  }
  if ((disk = find_disk ()) == NULL)
    return -1;
  if (resolved_id == NULL && (resolved_id = strdup (manifest->id)) == NULL) {
    nbdkit_error ("out of memory");
    return -1;
  }
  reader = disk_reader_open (repo, disk, cache_bytes);
  if (reader == NULL) {
    nbdkit_error ("%s", get_error ());
    return -1;
  }
  return 0;
}

static void
close_all (void)
{
  disk_reader_close (reader);
  reader = NULL;
  manifest_free (manifest);
  manifest = NULL;
  if (repo)
    repo_close (repo);
  repo = NULL;
}

/* Before nbdkit listens: check everything once, then let go of it. */
static int
vmbackup_get_ready (void)
{
  int r = -1;

  repo = repo_open (repo_path);
  if (repo == NULL)
    nbdkit_error ("%s", get_error ());
  else if (export_key_open_master (&key, repo, master, &have_master) == -1)
    nbdkit_error ("%s", get_error ());
  else
    r = 0;
  export_key_wipe (&key);
  if (repo)
    repo_close (repo);
  repo = NULL;
  if (r == 0)
    r = open_all ();
  close_all ();
  return r;
}

static int
vmbackup_after_fork (void)
{
  if (open_all () == -1 || open_events () == -1)
    return -1;
  OPENSSL_cleanse (master, sizeof master);
  nbdkit_debug ("exporting backup %s (%" PRIu64 " bytes)", manifest->id,
                disk_reader_size (reader));
  return 0;
}

static void *
vmbackup_open (int readonly)
{
  /* Every connection reads the one disk: the handle carries nothing. */
  return reader;
}

static int64_t
vmbackup_get_size (void *handle)
{
  return disk_reader_size (reader);
}

static int
vmbackup_can_multi_conn (void *handle)
{
  return 1; /* read-only: every connection sees the same bytes */
}

static int
vmbackup_can_extents (void *handle)
{
  return 1;
}

static int
vmbackup_can_cache (void *handle)
{
  return NBDKIT_CACHE_EMULATE;
}

static int
vmbackup_pread (void *handle, void *buf, uint32_t count, uint64_t offset,
                uint32_t flags)
{
  if (disk_reader_read (reader, buf, count, offset) == 0)
    return 0;
  nbdkit_error ("%s", get_error ());
  pthread_mutex_lock (&events_lock);
  event_emit (&events, EV_EXPORT_READ_FAILED,
              "backup %s: read of %" PRIu32 " bytes at offset %" PRIu64
              " failed: %s",
              manifest->id, count, offset, get_error ());
  event_log_reset (&events, manifest->name, manifest->id);
  pthread_mutex_unlock (&events_lock);
  nbdkit_set_error (EIO);
  return -1;
}

static int
add_extent (void *opaque, uint64_t offset, uint64_t len, bool zero)
{
  return nbdkit_add_extent (opaque, offset, len,
                            zero ? NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO
                                 : 0);
}

static int
vmbackup_extents (void *handle, uint32_t count, uint64_t offset,
                  uint32_t flags, struct nbdkit_extents *extents)
{
  if (disk_reader_extents (reader, offset, count, add_extent, extents) == 0)
    return 0;
  nbdkit_error ("%s", get_error ());
  nbdkit_set_error (EIO);
  return -1;
}

static struct nbdkit_plugin plugin = {
  .name = "vmbackup",
  .longname = "vmbackup: one disk of a backup, read-only",
  .version = VMBACKUP_VERSION,
  .description = "Serves one disk of a vmbackup backup read-only.",
  .unload = vmbackup_unload,
  .config = vmbackup_config,
  .config_complete = vmbackup_config_complete,
  .config_help = vmbackup_config_help,
  .get_ready = vmbackup_get_ready,
  .after_fork = vmbackup_after_fork,
  .open = vmbackup_open,
  .get_size = vmbackup_get_size,
  .can_multi_conn = vmbackup_can_multi_conn,
  .can_extents = vmbackup_can_extents,
  .can_cache = vmbackup_can_cache,
  .pread = vmbackup_pread,
  .extents = vmbackup_extents,
  .errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN (plugin)
