/* The S3 backend's chunks (reading, quarantine) and indexes: one object
 * each, named as in a directory repository (see s3.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "s3.h"

/* An index names 32 bytes a chunk: 1 GiB covers a 128 TiB disk of 4 MiB
 * chunks.  Anything larger is not an index. */
#define INDEX_MAX (1ULL << 30)

int
s3_chunk_get (struct backend *be, const struct digest *d, unsigned char *buf,
              size_t cap, size_t *len)
{
  struct s3_backend *S = s3_of (be);
  char key[S3_KEY_MAX], hex[DIGEST_HEX_LEN + 1], name[160];
  int got = s3_prefetch_take (S->prefetch, d, buf, cap, len);

  if (got == 1)
    return 0;
  s3_chunk_key (d, key);
  digest_to_hex (d, hex);
  /* "chunk HEX", as a directory repository names it. */
  snprintf (name, sizeof name, "chunk %s", hex);
  /* A fetch ahead that failed failed as this GET would have: its error
   * stands, rather than another wait as long for the same answer. */
  if (got == -1 || s3_get_into (S->c, key, buf, cap, len) == -1) {
    int e = get_errno ();
    if (e == ENOENT) {
      set_error (0, "%s: missing", name);
      set_error_kind (ERROR_MISSING);
    }
    else if (e == EFBIG) {
      /* No chunk is this large: its bytes are wrong. */
      set_error (0, "%s: larger than %zu bytes", name, cap);
      set_error_kind (ERROR_DAMAGED);
    }
    else
      error_prefix ("%s", name);
    return -1;
  }
  if (got == 0)
    s3_prefetch_resume (S->prefetch);
  return 0;
}

void
s3_chunk_prefetch (struct backend *be, const struct digest *d)
{
  struct s3_backend *S = s3_of (be);
  char key[S3_KEY_MAX];

  s3_chunk_key (d, key);
  s3_prefetch_hint (S->prefetch, d, key);
}

/* Out of chunks/ (a later backup stores a good copy) but kept for
 * forensics under quarantine/.  There is no rename: copy, then delete. */
int
s3_chunk_quarantine (struct backend *be, const struct digest *d)
{
  struct s3_backend *S = s3_of (be);
  struct strbuf sb = STRBUF_INIT;
  char key[S3_KEY_MAX], dst[S3_KEY_MAX], hex[DIGEST_HEX_LEN + 1];
  int r = -1;

  s3_chunk_key (d, key);
  digest_to_hex (d, hex);
  snprintf (dst, sizeof dst, "quarantine/%s", hex);
  if (s3_get (S->c, key, &sb, 1ULL << 30) == 0
      && s3_put (S->c, dst, sb.buf, sb.len, NULL) == 0
      && s3_delete (S->c, key) == 0)
    r = 0;
  if (r == -1)
    error_prefix ("quarantine chunk %s", hex);
  strbuf_release (&sb);
  return r;
}

static void
index_key (const struct digest *id, char *key, size_t len)
{
  char hex[DIGEST_HEX_LEN + 1];

  digest_to_hex (id, hex);
  snprintf (key, len, "indexes/%s.idx", hex);
}

int
s3_index_put (struct backend *be, const struct digest *id, int fd,
              const char *tmppath, uint64_t len)
{
  struct s3_backend *S = s3_of (be);
  struct s3_put_opts o = { .if_absent = true };
  char key[S3_KEY_MAX];
  unsigned char *buf = NULL;
  int r = -1;

  index_key (id, key, sizeof key);
  if (len > INDEX_MAX) {
    set_error (EFBIG, "index %.16s: larger than %llu bytes", key + 8,
               (unsigned long long) INDEX_MAX);
    goto out;
  }
  buf = malloc (len ? len : 1);
  if (!buf) {
    set_error (errno, "index %.16s", key + 8);
    goto out;
  }
  if (read_full (fd, buf, len, 0) == -1) {
    set_error (errno, "read index %.16s", key + 8);
    goto out;
  }
  r = s3_put (S->c, key, buf, len, &o);
  /* One there already has the same bytes (its name is their digest). */
  if (r == -1 && get_errno () == EEXIST)
    r = s3_lock_extend (S->c, key); /* locked: kept as long as we are */
  if (r == 0)
    s3_cache_store (S->cache, id, buf, len);
out:
  free (buf);
  close (fd);
  if (tmppath)
    unlink (tmppath);
  return r;
}

/* Fetched whole into an unlinked file here, then read and checked as a
 * local index is. */
int
s3_index_open (struct backend *be, const struct digest *id)
{
  struct s3_backend *S = s3_of (be);
  struct strbuf sb = STRBUF_INIT;
  CLEANUP_FREE char *dir = s3_tmpdir (be);
  char key[S3_KEY_MAX], name[32];
  int fd = -1;

  index_key (id, key, sizeof key);
  snprintf (name, sizeof name, "index %.16s", key + 8);
  if (!dir)
    return -1;
  fd = s3_cache_open (S->cache, id);
  if (fd >= 0)
    return fd;
  if (s3_get (S->c, key, &sb, INDEX_MAX) == -1) {
    if (get_errno () == ENOENT) {
      set_error (0, "%s: missing", name);
      set_error_kind (ERROR_MISSING);
    }
    else
      error_prefix ("%s", name);
    goto out;
  }
  s3_cache_store (S->cache, id, sb.buf, sb.len);
  fd = s3_cache_open (S->cache, id);
  if (fd >= 0)
    goto out;
  fd = open (dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
  if (fd == -1) {
    set_error (errno, "%s: temporary file in %s", name, dir);
    goto out;
  }
  if (write_full (fd, sb.buf, sb.len, 0) == -1) {
    set_error (errno, "%s: write to %s", name, dir);
    close (fd);
    fd = -1;
  }
out:
  strbuf_release (&sb);
  return fd;
}
