/* The S3 backend: creating and opening a repository in a bucket, and
 * the table of its operations (see s3.h, backend.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/format.h"
#include "s3.h"

void
s3_chunk_key (const struct digest *d, char *key)
{
  char hex[DIGEST_HEX_LEN + 1];

  digest_to_hex (d, hex);
  snprintf (key, S3_KEY_MAX, "chunks/%02x/%s", d->b[0], hex);
}

static struct s3_client *
connect_url (const char *url)
{
  struct s3_config cfg;

  if (s3_config_load (&cfg, url, NULL) == -1)
    return NULL;
  return s3_client_new (&cfg);
}

static int
stop_at_first (void *opaque, const char *key, uint64_t size, time_t mtime)
{
  *(bool *) opaque = true;
  return 1;
}

/* The "object-lock" object: an S3 repository whose objects carry a
 * retention (docs/repository-format.pod, IMMUTABLE S3 REPOSITORIES). */
#define LOCK_OBJECT "object-lock"
#define LOCK_MAGIC "vmbackup object lock 1\n"

static int
lock_put (struct s3_client *c, int days, bool governance)
{
  struct s3_put_opts o = { .if_absent = true };
  char text[128];

  snprintf (text, sizeof text, "%smode %s\ndays %d\n", LOCK_MAGIC,
            governance ? "governance" : "compliance", days);
  return s3_put (c, LOCK_OBJECT, text, strlen (text), &o);
}

/* Read by version, so that a delete marker put over it cannot make the
 * repository look unlocked. */
static int
lock_load (struct s3_client *c, const char *url)
{
  struct strbuf sb = STRBUF_INIT;
  char mode[16];
  int days, n = 0;

  if (s3_versioned_get (c, LOCK_OBJECT, &sb, 256) == -1) {
    strbuf_release (&sb);
    return get_errno () == ENOENT ? 0 : -1;
  }
  if (sb.len < strlen (LOCK_MAGIC)
      || memcmp (sb.buf, LOCK_MAGIC, strlen (LOCK_MAGIC)) != 0
      || sscanf (sb.buf + strlen (LOCK_MAGIC), "mode %15s\ndays %d\n%n", mode,
                 &days, &n)
        != 2
      || n == 0 || days < 1 || days > 36500
      || (strcmp (mode, "compliance") && strcmp (mode, "governance"))) {
    set_error (0, "%s/%s: malformed (not written by vmbackup)", url,
               LOCK_OBJECT);
    strbuf_release (&sb);
    return -1;
  }
  strbuf_release (&sb);
  s3_client_set_lock (c, days, strcmp (mode, "governance") == 0);
  return 0;
}

static int
s3_init (const char *url, const struct backend_new *nc)
{
  struct s3_client *c;
  CLEANUP_FREE char *config = NULL;
  bool any = false;
  int r = -1, l;

  if (!backend_chunk_size_valid (nc->chunk_size)) {
    set_error (0, "chunk size %u is not a power of two from 64 KiB to 16 MiB",
               nc->chunk_size);
    return -1;
  }
  c = connect_url (url);
  if (!c)
    return -1;
  /* A bucket that is missing is made (what an admin with the rights to
   * do so expects); one that holds anything under the prefix is not
   * ours to write into. */
  l = s3_list (c, "", stop_at_first, &any);
  if (l == -1 && get_errno () == ENXIO) {
    if (s3_bucket_create (c, nc->immutable_days > 0) == -1)
      goto out;
    l = 0;
  }
  if (l == -1)
    goto out;
  if (any) {
    set_error (0,
               "%s: not empty (a repository goes under a prefix of its "
               "own)",
               url);
    goto out;
  }
  if (nc->immutable_days > 0) {
    int on = s3_bucket_lock_enabled (c);
    if (on == -1)
      goto out;
    if (on == 0) {
      set_error (0,
                 "s3://%s: the bucket has no Object Lock, which --immutable "
                 "needs (S3 enables it only when a bucket is created: use a "
                 "new bucket, or let init create it)",
                 s3_client_config (c)->bucket);
      goto out;
    }
    /* From here every put-if-absent carries the retention. */
    s3_client_set_lock (c, nc->immutable_days, nc->immutable_governance);
  }
  config = backend_config_new (nc->chunk_size, nc->encryption);
  if (!config)
    goto out;
  /* The first key slot before the config, the config last: an
   * interrupted init never passes for a repository, and an encrypted
   * one is never visible without a way to open it. */
  if (nc->encryption) {
    CLEANUP_FREE char *key = NULL;
    struct s3_put_opts o = { .if_absent = true };
    if (asprintf (&key, "keys/%s", nc->key_id) == -1) {
      set_error (ENOMEM, "key slot");
      goto out;
    }
    if (s3_put (c, key, nc->key_text, nc->key_len, &o) == -1)
      goto out;
  }
  if (nc->immutable_days > 0
      && lock_put (c, nc->immutable_days, nc->immutable_governance) == -1)
    goto out;
  {
    struct s3_put_opts o = { .if_absent = true };
    if (s3_put (c, "config", config, strlen (config), &o) == -1) {
      if (get_errno () == EEXIST)
        set_error (EEXIST, "%s: a repository is there already", url);
      goto out;
    }
  }
  r = 0;
out:
  s3_client_close (c);
  return r;
}

static void
s3_close (struct backend *be)
{
  struct s3_backend *S = s3_of (be);

  if (!S)
    return;
  if (S->writing)
    s3_writer_end (be);
  if (S->collecting)
    s3_gc_end (be);
  s3_prefetch_free (S->prefetch);
  s3_client_close (S->c);
  free (S->cache);
  free (S);
  be->priv = NULL;
}

static int
s3_open (struct backend *be, const char *url)
{
  struct s3_backend *S = calloc (1, sizeof *S);
  struct strbuf config = STRBUF_INIT;
  const struct s3_config *cfg;
  int r;

  if (!S) {
    set_error (ENOMEM, "open %s", url);
    return -1;
  }
  be->priv = S;
  S->c = connect_url (url);
  if (!S->c)
    goto fail;
  cfg = s3_client_config (S->c);
  snprintf (S->name, sizeof S->name, "s3://%s/%s", cfg->bucket, cfg->prefix);
  /* The config first, plainly: credentials, bucket and clock errors
   * name it.  Then the lock; in a locked repository the config is read
   * again by version (what is current may be someone else's). */
  r = s3_get (S->c, "config", &config, BACKEND_CONFIG_MAX);
  if (r == 0 || get_errno () == ENOENT) {
    if (lock_load (S->c, url) == -1)
      goto fail;
    if (s3_client_lock_days (S->c, NULL) > 0) {
      config.len = 0;
      r = s3_get (S->c, "config", &config, BACKEND_CONFIG_MAX);
    }
  }
  if (r == -1) {
    if (get_errno () == ENOENT)
      set_error (0,
                 "%s: not a vmbackup repository (run 'vmbackup init' "
                 "first)",
                 url);
    else if (get_errno () == EFBIG)
      set_error (0,
                 "%s: config is larger than %d bytes: not a vmbackup "
                 "repository",
                 url, BACKEND_CONFIG_MAX);
    goto fail;
  }
  if (backend_config_parse (be, config.buf) == -1)
    goto fail;
  strbuf_release (&config);
  S->cache = s3_cache_dir (be->id);
  S->prefetch = s3_prefetch_new (S->c, FORMAT_CHUNK_FILE_MAX (be->chunk_size));
  if (S->prefetch == NULL)
    goto fail;
  return 0;

fail:
  strbuf_release (&config);
  s3_close (be);
  return -1;
}

/* Temporary files of the repository code stay on this host. */
char *
s3_tmpdir (struct backend *be)
{
  const char *dir = getenv ("TMPDIR");
  char *s = strdup (dir && dir[0] ? dir : "/var/tmp");

  if (!s)
    set_error (ENOMEM, "temporary directory");
  return s;
}

/* Threads share the client (each request takes a handle of its own):
 * a worker needs nothing but something it can close. */
static int
s3_worker_open (struct backend *be)
{
  int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  if (fd == -1)
    set_error (errno, "open /dev/null");
  return fd;
}

const struct backend_ops backend_s3 = {
  .name = "s3",
  .handles = s3_url,
  .init = s3_init,
  .open = s3_open,
  .close = s3_close,
  .tmpdir = s3_tmpdir,
  .worker_open = s3_worker_open,
  .writer_begin = s3_writer_begin,
  .chunk_refresh = s3_chunk_refresh,
  .chunk_kept = s3_chunk_kept,
  .chunk_put = s3_chunk_put,
  .writer_flush = s3_writer_flush,
  .writer_end = s3_writer_end,
  .chunk_get = s3_chunk_get,
  .chunk_prefetch = s3_chunk_prefetch,
  .chunk_prefetch_depth = S3_PREFETCH_AHEAD,
  .chunk_quarantine = s3_chunk_quarantine,
  .index_put = s3_index_put,
  .index_open = s3_index_open,
  .manifest_reserve = s3_manifest_reserve,
  .manifest_unreserve = s3_manifest_unreserve,
  .manifest_reserve_id = s3_manifest_reserve_id,
  .manifest_commit = s3_manifest_commit,
  .manifest_get = s3_manifest_get,
  .manifest_list = s3_manifest_list,
  .manifest_delete = s3_manifest_delete,
  .key_list = s3_key_list,
  .key_get = s3_key_get,
  .key_put = s3_key_put,
  .key_delete = s3_key_delete,
  .gc_begin = s3_gc_begin,
  .gc_sweep = s3_gc_sweep,
  .gc_end = s3_gc_end,
};
