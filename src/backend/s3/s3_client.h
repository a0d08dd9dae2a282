/* An S3 client for the repository backend: the few object operations a
 * repository needs, over libcurl, which signs each request with AWS
 * SigV4 (CURLOPT_AWS_SIGV4).  Keys are relative to the URL's prefix.
 *
 * Every call is synchronous and safe from several threads at once (each
 * takes a curl handle from a pool, so connections are kept alive).  A
 * request that may succeed later (a dropped connection, 5xx, 429 or
 * SlowDown) is tried again with exponential backoff; one that makes no
 * progress for cfg.timeout seconds fails with ETIMEDOUT.  Errors are one
 * line naming the object and S3's error code; errno says what kind:
 * ENOENT (no such key), EEXIST (put-if-absent lost), EACCES (credentials
 * or permissions, also Object Lock refusing a delete), ENXIO (no such
 * bucket), ETIMEDOUT, EIO (anything else). */
#ifndef VMB_S3_CLIENT_H
#define VMB_S3_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/strbuf.h"
#include "s3_config.h"

struct s3_client;

/* Takes over cfg (released by s3_client_close). */
struct s3_client *s3_client_new (struct s3_config *cfg);
void s3_client_close (struct s3_client *c);
const struct s3_config *s3_client_config (const struct s3_client *c);

struct s3_put_opts {
  bool if_absent; /* If-None-Match: * (EEXIST if it exists) */
  /* Object Lock: with retain_until > 0, the object version cannot be
   * deleted or overwritten before then (COMPLIANCE: by nobody). */
  time_t retain_until;
  bool governance; /* GOVERNANCE instead of COMPLIANCE */
  /* In a locked client (s3_client_set_lock), a put-if-absent gets the
   * repository's retention unless this is set: leases, reservations. */
  bool unlocked;
};

int s3_put (struct s3_client *c, const char *key, const void *data, size_t len,
            const struct s3_put_opts *opts);
/* The object into out (appended), refused with EFBIG past max bytes. */
int s3_get (struct s3_client *c, const char *key, struct strbuf *out,
            size_t max);
/* As s3_get, into buf (cap bytes at most, else EFBIG), *len the body's
 * length. */
int s3_get_into (struct s3_client *c, const char *key, unsigned char *buf,
                 size_t cap, size_t *len);
/* 1 and its size if the object exists, 0 if not, -1 on error. */
int s3_head (struct s3_client *c, const char *key, uint64_t *size);
/* Deleting a missing object is not an error (S3 answers 204 too). */
int s3_delete (struct s3_client *c, const char *key);
/* A best-effort delete on a way out (a lease, a reservation): whatever
 * happens, the caller's error stays the one reported. */
void s3_delete_cleanup (struct s3_client *c, const char *key);

/* Call fn for every object whose key starts with prefix, in key order,
 * one page (at most 1000 keys) in memory at a time; fn's key is
 * relative to the repository prefix.  fn returning non-zero stops the
 * listing and is returned. */
typedef int (*s3_list_fn) (void *opaque, const char *key, uint64_t size,
                           time_t mtime);
int s3_list (struct s3_client *c, const char *prefix, s3_list_fn fn,
             void *opaque);

/* Create the bucket (with Object Lock enabled when asked; that needs a
 * new bucket).  A bucket we own already is no error (radosgw and
 * us-east-1 answer 200); one that someone else owns is EEXIST. */
int s3_bucket_create (struct s3_client *c, bool object_lock);

/* Object Lock.  After s3_client_set_lock (days > 0), every
 * put-if-absent that is not .unlocked carries a retention of days (mode
 * COMPLIANCE unless governance), and since the bucket keeps versions,
 * what someone put or deleted later cannot hide what we stored:
 * s3_get and s3_head see the OLDEST version of a key that is not a
 * delete marker; s3_list lists every key with such a version; s3_delete
 * deletes each version by its ID, and one the lock keeps makes it fail
 * with EPERM ("kept") after the others are gone. */
void s3_client_set_lock (struct s3_client *c, int days, bool governance);
int s3_client_lock_days (const struct s3_client *c, bool *governance);
/* 1 if the bucket has Object Lock enabled, 0 if not, -1 on error. */
int s3_bucket_lock_enabled (struct s3_client *c);
/* Keep key's oldest version until at least until (a longer retention
 * stays). */
int s3_retention_extend (struct s3_client *c, const char *key, time_t until);

/* For s3_versions.c: one request (Content-MD5 on a body), and the
 * percent-encoding of its URL. */
int s3_request (struct s3_client *c, const char *method, const char *key,
                const char *query, const void *data, size_t len,
                struct strbuf *out, size_t max, long *status);
void s3_encode (struct strbuf *sb, const char *s, bool keep_slash);
int s3_versioned_get (struct s3_client *c, const char *key, struct strbuf *out,
                      size_t max);
int s3_versioned_head (struct s3_client *c, const char *key, uint64_t *size);
int s3_versioned_delete (struct s3_client *c, const char *key);
int s3_versioned_list (struct s3_client *c, const char *prefix, s3_list_fn fn,
                       void *opaque);

#endif
