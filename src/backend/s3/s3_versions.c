/* Object Lock: reading, listing and deleting by version (s3_client.h).
 * In a locked repository the bucket keeps versions, and anyone with
 * our credentials can put a new version over a key or hide it behind a
 * delete marker; neither touches the version we stored, which the lock
 * keeps.  So a key's content is its OLDEST real version: vmbackup
 * writes every such key put-if-absent, so that is ours. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "s3.h"
#include "s3_xml.h"

#define LIST_BODY_MAX (8 * 1024 * 1024)
#define VERSION_MAX 256

/* Every version under prefix (relative), one page at a time. */
static int
versions_each (struct s3_client *c, const char *prefix, s3_version_fn fn,
               void *opaque)
{
  const struct s3_config *cfg = s3_client_config (c);
  char *key_marker = NULL, *version_marker = NULL;
  struct strbuf full = STRBUF_INIT;
  int ret = 0;

  strbuf_addf (&full, "%s%s", cfg->prefix, prefix);
  do {
    struct strbuf query = STRBUF_INIT, page = STRBUF_INIT;
    char *nk = NULL, *nv = NULL;

    /* Parameters in sorted order, as SigV4's canonical query wants. */
    if (key_marker) {
      strbuf_addstr (&query, "key-marker=");
      s3_encode (&query, key_marker, false);
      strbuf_addstr (&query, "&");
    }
    strbuf_addstr (&query, "prefix=");
    s3_encode (&query, full.buf, false);
    if (version_marker && *version_marker) {
      strbuf_addstr (&query, "&version-id-marker=");
      s3_encode (&query, version_marker, false);
    }
    strbuf_addstr (&query, "&versions=");
    ret = s3_request (c, "GET", NULL, query.buf, NULL, 0, &page, LIST_BODY_MAX,
                      NULL);
    if (ret == 0)
      ret = s3_xml_versions_page (page.buf, page.len, cfg->prefix, fn, opaque,
                                  &nk, &nv);
    strbuf_release (&query);
    strbuf_release (&page);
    if (ret == 0 && nk && key_marker && strcmp (nk, key_marker) == 0
        && strcmp (nv, version_marker ? version_marker : "") == 0) {
      set_error (EIO,
                 "S3 version listing of %s: the server repeats its "
                 "marker",
                 full.buf);
      ret = -1;
    }
    free (key_marker);
    free (version_marker);
    key_marker = nk;
    version_marker = nv;
  } while (ret == 0 && key_marker);
  free (key_marker);
  free (version_marker);
  strbuf_release (&full);
  return ret;
}

/* The oldest real version of one key. */
struct oldest {
  const char *key;
  char version[VERSION_MAX];
  uint64_t size;
  bool found;
};

static int
oldest_one (void *opaque, const char *key, const char *version, bool marker,
            uint64_t size, time_t mtime)
{
  struct oldest *o = opaque;

  (void) mtime;
  if (marker || strcmp (key, o->key) != 0 || strlen (version) >= VERSION_MAX)
    return 0;
  /* Newest first: the last one seen is the oldest. */
  snprintf (o->version, sizeof o->version, "%s", version);
  o->size = size;
  o->found = true;
  return 0;
}

static int
oldest_version (struct s3_client *c, const char *key, struct oldest *o)
{
  memset (o, 0, sizeof *o);
  o->key = key;
  if (versions_each (c, key, oldest_one, o) == -1)
    return -1;
  return o->found ? 1 : 0;
}

static void
version_query (struct strbuf *q, const char *pre, const char *version)
{
  strbuf_addf (q, "%sversionId=", pre);
  s3_encode (q, version, false);
}

int
s3_versioned_get (struct s3_client *c, const char *key, struct strbuf *out,
                  size_t max)
{
  struct strbuf q = STRBUF_INIT;
  struct oldest o;
  int r = oldest_version (c, key, &o);

  if (r == 0) {
    set_error (0, "s3://%s/%s%s: no such object", s3_client_config (c)->bucket,
               s3_client_config (c)->prefix, key);
    set_error_errno (ENOENT);
  }
  if (r != 1)
    return -1;
  version_query (&q, "", o.version);
  r = s3_request (c, "GET", key, q.buf, NULL, 0, out, max, NULL);
  strbuf_release (&q);
  return r;
}

int
s3_versioned_head (struct s3_client *c, const char *key, uint64_t *size)
{
  struct oldest o;
  int r = oldest_version (c, key, &o);

  if (r == 1 && size)
    *size = o.size;
  return r;
}

/* Every version and delete marker of one key. */
struct all_versions {
  const char *key;
  char (*v)[VERSION_MAX];
  size_t n, cap;
};

static int
collect_one (void *opaque, const char *key, const char *version, bool marker,
             uint64_t size, time_t mtime)
{
  struct all_versions *a = opaque;

  (void) marker, (void) size, (void) mtime;
  if (strcmp (key, a->key) != 0 || strlen (version) >= VERSION_MAX)
    return 0;
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 4;
    void *p = realloc (a->v, cap * sizeof *a->v);
    if (!p) {
      set_error (ENOMEM, "S3 versions of %s", key);
      return -1;
    }
    a->v = p;
    a->cap = cap;
  }
  snprintf (a->v[a->n++], VERSION_MAX, "%s", version);
  return 0;
}

int
s3_versioned_delete (struct s3_client *c, const char *key)
{
  struct all_versions a = { .key = key };
  size_t kept = 0;
  int r = versions_each (c, key, collect_one, &a);

  for (size_t i = 0; r == 0 && i < a.n; i++) {
    struct strbuf q = STRBUF_INIT;
    long status = 0;
    version_query (&q, "", a.v[i]);
    if (s3_request (c, "DELETE", key, q.buf, NULL, 0, NULL, 0, &status)
        == -1) {
      /* The lock refuses it (403 AccessDenied): kept, and on we go. */
      if (status == 403)
        kept++;
      else
        r = -1;
    }
    strbuf_release (&q);
  }
  free (a.v);
  if (r == 0 && kept > 0) {
    set_error (0,
               "s3://%s/%s%s: kept: its Object Lock retention has not "
               "ended",
               s3_client_config (c)->bucket, s3_client_config (c)->prefix,
               key);
    set_error_errno (EPERM);
    r = -1;
  }
  return r;
}

/* Listing: each key once, if it has a real version (a key with only
 * delete markers is gone). */
struct keys {
  s3_list_fn fn;
  void *opaque;
  char last[S3_KEY_MAX];
};

static int
key_once (void *opaque, const char *key, const char *version, bool marker,
          uint64_t size, time_t mtime)
{
  struct keys *k = opaque;

  (void) version;
  if (marker || strcmp (key, k->last) == 0)
    return 0;
  snprintf (k->last, sizeof k->last, "%s", key);
  return k->fn (k->opaque, key, size, mtime);
}

int
s3_versioned_list (struct s3_client *c, const char *prefix, s3_list_fn fn,
                   void *opaque)
{
  struct keys k = { .fn = fn, .opaque = opaque };

  return versions_each (c, prefix, key_once, &k);
}

int
s3_retention_extend (struct s3_client *c, const char *key, time_t until)
{
  struct strbuf q = STRBUF_INIT, body = STRBUF_INIT;
  bool governance = false;
  char date[64];
  struct tm tm;
  struct oldest o;
  int r;

  s3_client_lock_days (c, &governance);
  r = oldest_version (c, key, &o);
  if (r == 0) {
    set_error (ENOENT, "s3://%s/%s%s: no such object",
               s3_client_config (c)->bucket, s3_client_config (c)->prefix,
               key);
    return -1;
  }
  if (r == -1)
    return -1;
  gmtime_r (&until, &tm);
  strftime (date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  strbuf_addf (&body,
               "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
               "<Mode>%s</Mode><RetainUntilDate>%s</RetainUntilDate>"
               "</Retention>",
               governance ? "GOVERNANCE" : "COMPLIANCE", date);
  version_query (&q, "retention=&", o.version);
  r = s3_request (c, "PUT", key, q.buf, body.buf, body.len, NULL, 0, NULL);
  strbuf_release (&q);
  strbuf_release (&body);
  return r;
}

int
s3_bucket_lock_enabled (struct s3_client *c)
{
  struct strbuf out = STRBUF_INIT;
  long status = 0;
  int r = s3_request (c, "GET", NULL, "object-lock=", NULL, 0, &out, 65536,
                      &status);

  if (r == 0)
    r = s3_xml_lock_enabled (out.buf, out.len) ? 1 : 0;
  else if (status == 404 && get_errno () == ENOENT)
    r = 0; /* ObjectLockConfigurationNotFoundError */
  strbuf_release (&out);
  return r;
}
