/* The S3 backend's key slots: keys/<id>, each written once with
 * If-None-Match: * (so adding a slot can never replace one) and never
 * rewritten.  repo/keyring.c reads and checks their contents. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "s3.h"

static bool
is_key_id (const char *name)
{
  if (strlen (name) != BACKEND_KEY_ID_LEN)
    return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

static int
slot_key (const char *id, char *key, size_t len)
{
  if (!is_key_id (id)) {
    set_error (0, "invalid key slot ID '%.20s'", id);
    return -1;
  }
  snprintf (key, len, "keys/%s", id);
  return 0;
}

struct key_listing {
  char (*ids)[BACKEND_KEY_ID_LEN + 1];
  size_t max, *n;
  const char *repo;
};

static int
one_key (void *opaque, const char *key, uint64_t size, time_t mtime)
{
  struct key_listing *k = opaque;
  const char *id = key + 5; /* after "keys/" */

  if (!is_key_id (id))
    return 0; /* not a slot */
  if (*k->n == k->max) {
    set_error (0, "%s: more than %zu key slots", k->repo, k->max);
    return -1;
  }
  memcpy (k->ids[(*k->n)++], id, BACKEND_KEY_ID_LEN + 1);
  return 0;
}

int
s3_key_list (struct backend *be, char (*ids)[BACKEND_KEY_ID_LEN + 1],
             size_t max, size_t *n)
{
  struct key_listing k = { ids, max, n, be->location };

  *n = 0;
  return s3_list (s3_of (be)->c, "keys/", one_key, &k) == 0 ? 0 : -1;
}

int
s3_key_get (struct backend *be, const char *id, char **text, size_t *len)
{
  struct strbuf sb = STRBUF_INIT;
  char key[64];

  if (slot_key (id, key, sizeof key) == -1)
    return -1;
  if (s3_get (s3_of (be)->c, key, &sb, BACKEND_KEY_MAX) == -1) {
    if (get_errno () == ENOENT)
      set_error (0, "key slot %s: missing", id);
    else if (get_errno () == EFBIG)
      set_error (EFBIG, "key slot %s: larger than %d bytes", id,
                 BACKEND_KEY_MAX);
    strbuf_release (&sb);
    return -1;
  }
  *len = sb.len;
  *text = strbuf_detach (&sb);
  return 0;
}

int
s3_key_put (struct backend *be, const char *id, const char *text, size_t len)
{
  struct s3_put_opts o = { .if_absent = true };
  char key[64];

  if (slot_key (id, key, sizeof key) == -1)
    return -1;
  if (len > BACKEND_KEY_MAX) {
    set_error (0, "key slot %s: larger than %d bytes", id, BACKEND_KEY_MAX);
    return -1;
  }
  if (s3_put (s3_of (be)->c, key, text, len, &o) == -1) {
    if (get_errno () == EEXIST)
      set_error (EEXIST, "key slot %s exists", id);
    return -1;
  }
  return 0;
}

int
s3_key_delete (struct backend *be, const char *id)
{
  char key[64];
  int r;

  if (slot_key (id, key, sizeof key) == -1)
    return -1;
  /* S3 deletes a missing object without a word: look first. */
  r = s3_head (s3_of (be)->c, key, NULL);
  if (r == 0)
    set_error (0, "delete key slot %s: no such slot", id);
  if (r != 1)
    return -1;
  return s3_delete (s3_of (be)->c, key);
}
