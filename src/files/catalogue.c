/* Catalogue records (see catalogue.h and docs/repository-format.pod).
 *
 * Body layout, integers little-endian:
 *    0 u8  type            1 u8  flags           2 u16 xattr count X
 *    4 u32 mode            8 u32 uid            12 u32 gid
 *   16 u64 size           24 i64 mtime seconds  32 u32 mtime nanoseconds
 *   36 u32 atime nanoseconds                    40 i64 atime seconds
 *   48 u32 rdev major     52 u32 rdev minor     56 u64 data offset
 *   64 u32 extent count E 68 u16 path length P  70 u16 user length U
 *   72 u16 group length G 74 u16 target length T
 *   76 i64 ctime seconds  84 u32 ctime nanoseconds 88 u64 inode
 *   96 path, user, group, target (no NULs)
 *      E x (u64 offset, u64 length)
 *      X x (u16 name length N, u32 value length V, name, value)
 * and nothing after. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/endian.h"
#include "common/error.h"
#include "catalogue.h"

void
file_entry_release (struct file_entry *e)
{
  free (e->path);
  free (e->user);
  free (e->group);
  free (e->target);
  extent_vector_reset (&e->extents);
  for (size_t i = 0; i < e->xattrs.len; i++) {
    free (e->xattrs.ptr[i].name);
    free (e->xattrs.ptr[i].value);
  }
  xattr_vector_reset (&e->xattrs);
  memset (e, 0, sizeof *e);
}

uint64_t
file_entry_data_length (const struct file_entry *e)
{
  uint64_t t = 0;

  for (size_t i = 0; i < e->extents.len; i++)
    t += e->extents.ptr[i].length;
  return t;
}

static size_t
len_or_zero (const char *s)
{
  return s ? strlen (s) : 0;
}

/* The stored data offset of a regular file, and the state after it. */
static uint64_t
stored_offset (const struct file_entry *e, struct catalogue_state *st)
{
  uint64_t v;

  if (e->type != ENTRY_REG)
    return 0;
  if (e->flags & ENTRY_HARDLINK)
    return e->data_offset;
  v = e->data_offset - st->data_end;
  st->data_end = e->data_offset + file_entry_data_length (e);
  return v;
}

int
catalogue_encode (const struct file_entry *e, struct catalogue_state *st,
                  struct strbuf *out)
{
  size_t plen = len_or_zero (e->path), ulen = len_or_zero (e->user);
  size_t glen = len_or_zero (e->group), tlen = len_or_zero (e->target);
  unsigned char fixed[4 + CATALOGUE_FIXED_LEN];
  unsigned char *f = fixed + 4;
  uint64_t body = CATALOGUE_FIXED_LEN + plen + ulen + glen + tlen
    + e->extents.len * 16;

  for (size_t i = 0; i < e->xattrs.len; i++)
    body += 6 + strlen (e->xattrs.ptr[i].name) + e->xattrs.ptr[i].len;
  if (!catalogue_path_is_safe (e->path, plen) || ulen > CATALOGUE_MAX_NAME
      || glen > CATALOGUE_MAX_NAME || tlen > CATALOGUE_MAX_PATH
      || e->xattrs.len > UINT16_MAX || e->extents.len > CATALOGUE_MAX_EXTENTS
      || body > CATALOGUE_MAX_RECORD
      || (e->type == ENTRY_REG && !(e->flags & ENTRY_HARDLINK)
          && e->data_offset < st->data_end)) {
    set_error (EINVAL, "%s: metadata too large for a catalogue record",
               e->path ? e->path : "");
    return -1;
  }
  put_le32 (fixed, body);
  f[0] = e->type;
  f[1] = e->flags;
  put_le16 (f + 2, e->xattrs.len);
  put_le32 (f + 4, e->mode);
  put_le32 (f + 8, e->uid);
  put_le32 (f + 12, e->gid);
  put_le64 (f + 16, e->size);
  put_le64 (f + 24, e->mtime_sec);
  put_le32 (f + 32, e->mtime_nsec);
  put_le32 (f + 36, e->atime_nsec);
  put_le64 (f + 40, e->atime_sec);
  put_le32 (f + 48, e->rdev_major);
  put_le32 (f + 52, e->rdev_minor);
  put_le64 (f + 56, stored_offset (e, st));
  put_le32 (f + 64, e->extents.len);
  put_le16 (f + 68, plen);
  put_le16 (f + 70, ulen);
  put_le16 (f + 72, glen);
  put_le16 (f + 74, tlen);
  put_le64 (f + 76, e->ctime_sec);
  put_le32 (f + 84, e->ctime_nsec);
  put_le64 (f + 88, e->inode);
  strbuf_add (out, fixed, sizeof fixed);
  /* Absent strings are NULL: never hand strbuf_add a NULL. */
  strbuf_add (out, e->path, plen);
  if (ulen)
    strbuf_add (out, e->user, ulen);
  if (glen)
    strbuf_add (out, e->group, glen);
  if (tlen)
    strbuf_add (out, e->target, tlen);
  for (size_t i = 0; i < e->extents.len; i++) {
    unsigned char x[16];
    put_le64 (x, e->extents.ptr[i].offset);
    put_le64 (x + 8, e->extents.ptr[i].length);
    strbuf_add (out, x, sizeof x);
  }
  for (size_t i = 0; i < e->xattrs.len; i++) {
    const struct xattr *x = &e->xattrs.ptr[i];
    unsigned char h[6];
    size_t nlen = strlen (x->name);
    put_le16 (h, nlen);
    put_le32 (h + 2, x->len);
    strbuf_add (out, h, sizeof h);
    strbuf_add (out, x->name, nlen);
    if (x->len)
      strbuf_add (out, x->value, x->len);
  }
  return 0;
}

bool
catalogue_path_is_safe (const char *path, size_t len)
{
  const char *p = path, *end = path + len;

  if (path == NULL || len == 0 || len > CATALOGUE_MAX_PATH
      || memchr (path, '\0', len))
    return false;
  while (p <= end) {
    const char *slash = memchr (p, '/', end - p);
    size_t n = (slash ? slash : end) - p;

    /* Covers a leading "/" (an empty first component) and "//". */
    if (n == 0 || (n == 1 && p[0] == '.')
        || (n == 2 && p[0] == '.' && p[1] == '.'))
      return false;
    if (slash == NULL)
      break;
    p = slash + 1;
  }
  return true;
}

int
catalogue_path_cmp (const char *a, const char *b)
{
  for (;; a++, b++) {
    int x = *a == '/' ? 1 : *a ? (unsigned char) *a + 1 : 0;
    int y = *b == '/' ? 1 : *b ? (unsigned char) *b + 1 : 0;
    if (x != y)
      return x < y ? -1 : 1;
    if (x == 0)
      return 0;
  }
}

/* A string of n bytes at *p (advanced), NUL-terminated, without NULs. */
static int
take_string (const unsigned char **p, size_t n, char **out)
{
  if (memchr (*p, '\0', n))
    return -1;
  *out = malloc (n + 1);
  if (*out == NULL)
    return -1;
  memcpy (*out, *p, n);
  (*out)[n] = '\0';
  *p += n;
  return 0;
}

static int
decode_fail (struct file_entry *e, const char *why)
{
  set_error (0, "catalogue record%s%s: %s", e->path ? " " : "",
             e->path ? e->path : "", why);
  file_entry_release (e);
  return -1;
}

int
catalogue_decode (const unsigned char *b, size_t len,
                  struct catalogue_state *st, struct file_entry *e)
{
  const unsigned char *p, *end = b + len;
  size_t plen, ulen, glen, tlen, nx, ne;
  uint64_t need, data_end;

  if (len < CATALOGUE_FIXED_LEN || len > CATALOGUE_MAX_RECORD)
    return decode_fail (e, "bad length");
  e->type = b[0];
  e->flags = b[1];
  nx = get_le16 (b + 2);
  e->mode = get_le32 (b + 4);
  e->uid = get_le32 (b + 8);
  e->gid = get_le32 (b + 12);
  e->size = get_le64 (b + 16);
  e->mtime_sec = (int64_t) get_le64 (b + 24);
  e->mtime_nsec = get_le32 (b + 32);
  e->atime_nsec = get_le32 (b + 36);
  e->atime_sec = (int64_t) get_le64 (b + 40);
  e->rdev_major = get_le32 (b + 48);
  e->rdev_minor = get_le32 (b + 52);
  e->data_offset = get_le64 (b + 56);
  ne = get_le32 (b + 64);
  plen = get_le16 (b + 68);
  ulen = get_le16 (b + 70);
  glen = get_le16 (b + 72);
  tlen = get_le16 (b + 74);
  e->ctime_sec = (int64_t) get_le64 (b + 76);
  e->ctime_nsec = get_le32 (b + 84);
  e->inode = get_le64 (b + 88);
  /* All sizes are bounded (16-bit lengths, ne checked first), so this
   * sum cannot overflow. */
  if (ne > CATALOGUE_MAX_EXTENTS)
    return decode_fail (e, "too many extents");
  need = CATALOGUE_FIXED_LEN + plen + ulen + glen + tlen + ne * 16;
  if (need > len)
    return decode_fail (e, "truncated");
  if (e->type < ENTRY_REG || e->type > ENTRY_FIFO
      || (e->flags & ~ENTRY_FLAGS_KNOWN) || (e->mode & ~07777u)
      || e->mtime_nsec >= 1000000000 || e->atime_nsec >= 1000000000
      || e->ctime_nsec >= 1000000000)
    return decode_fail (e, "bad type, flags, mode or time");
  if ((e->flags & ENTRY_HARDLINK) && e->type != ENTRY_REG)
    return decode_fail (e, "hard link to a non-file");
  if ((e->type == ENTRY_SYMLINK || (e->flags & ENTRY_HARDLINK)) != (tlen > 0))
    return decode_fail (e, "link target missing or misplaced");
  if (e->type != ENTRY_REG
      && (ne || e->data_offset || (e->flags & ENTRY_CHANGED)))
    return decode_fail (e, "data for a non-file");
  /* Relative to the end of the previous file's data (not for links). */
  if (e->type == ENTRY_REG && !(e->flags & ENTRY_HARDLINK)
      && __builtin_add_overflow (e->data_offset, st->data_end,
                                 &e->data_offset))
    return decode_fail (e, "data offset overflows");
  if (ulen > CATALOGUE_MAX_NAME || glen > CATALOGUE_MAX_NAME)
    return decode_fail (e, "name too long");
  p = b + CATALOGUE_FIXED_LEN;
  if (!catalogue_path_is_safe ((const char *) p, plen))
    return decode_fail (e, "unsafe path (absolute, empty, '.' or '..')");
  if (take_string (&p, plen, &e->path) == -1
      || take_string (&p, ulen, &e->user) == -1
      || take_string (&p, glen, &e->group) == -1
      || take_string (&p, tlen, &e->target) == -1)
    return decode_fail (e, "NUL byte in a string");
  if ((e->flags & ENTRY_HARDLINK) && !catalogue_path_is_safe (e->target, tlen))
    return decode_fail (e, "unsafe hard link target");
  if (extent_vector_reserve (&e->extents, ne) == -1)
    return decode_fail (e, "out of memory");
  data_end = e->data_offset;
  for (size_t i = 0; i < ne; i++) {
    struct extent x = { get_le64 (p), get_le64 (p + 8) };
    uint64_t xend;
    p += 16;
    if (x.length == 0 || __builtin_add_overflow (x.offset, x.length, &xend)
        || xend > e->size
        || (i > 0
            && x.offset
              < e->extents.ptr[i - 1].offset + e->extents.ptr[i - 1].length)
        || __builtin_add_overflow (data_end, x.length, &data_end))
      return decode_fail (e, "bad extent");
    e->extents.ptr[e->extents.len++] = x;
  }
  if (xattr_vector_reserve (&e->xattrs, nx) == -1)
    return decode_fail (e, "out of memory");
  for (size_t i = 0; i < nx; i++) {
    struct xattr x = { 0 };
    size_t nlen;
    if (end - p < 6)
      return decode_fail (e, "truncated xattr");
    nlen = get_le16 (p);
    x.len = get_le32 (p + 2);
    p += 6;
    if (nlen == 0 || nlen > CATALOGUE_MAX_NAME
        || x.len > CATALOGUE_MAX_XATTR_VALUE
        || (size_t) (end - p) < nlen + x.len)
      return decode_fail (e, "bad xattr");
    if (take_string (&p, nlen, &x.name) == -1)
      return decode_fail (e, "bad xattr name");
    x.value = malloc (x.len ? x.len : 1);
    if (x.value == NULL) {
      free (x.name);
      return decode_fail (e, "out of memory");
    }
    memcpy (x.value, p, x.len);
    p += x.len;
    e->xattrs.ptr[e->xattrs.len++] = x;
  }
  if (p != end)
    return decode_fail (e, "trailing bytes");
  if (e->type == ENTRY_REG && !(e->flags & ENTRY_HARDLINK))
    st->data_end = data_end;
  return 0;
}
