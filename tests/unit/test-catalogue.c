/* Catalogue records: encode and decode give back every field; decoding
 * refuses unsafe paths (absolute, "..", ".", empty components),
 * truncated and padded records; the stream check refuses paths out of
 * order and hard links to later entries. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "files/catalogue.h"
#include "files/catalogue_reader.h"
#include "test.h"

static void
make_entry (struct file_entry *e, const char *path)
{
  memset (e, 0, sizeof *e);
  e->type = ENTRY_REG;
  e->mode = 04755;
  e->uid = 1234;
  e->gid = 5678;
  e->size = 10 << 20;
  e->mtime_sec = -5;
  e->mtime_nsec = 123456789;
  e->atime_sec = 1700000000;
  e->atime_nsec = 1;
  e->data_offset = 77;
  e->path = strdup (path);
  e->user = strdup ("alice");
  e->group = strdup ("");
  extent_vector_append (&e->extents, (struct extent) { 0, 4096 });
  extent_vector_append (&e->extents, (struct extent) { 8 << 20, 1 << 20 });
  struct xattr x = { strdup ("user.k"), malloc (3), 3 };
  memcpy (x.value, "v\0w", 3);
  xattr_vector_append (&e->xattrs, x);
}

/* Decode the body of an encoded record (skipping its length). */
static int
decode (const struct strbuf *sb, struct file_entry *e)
{
  unsigned char *copy = test_memdup (sb->buf + 4, sb->len - 4);
  int r;

  memset (e, 0, sizeof *e);
  struct catalogue_state st = { 0 };
  r = catalogue_decode (copy, sb->len - 4, &st, e);
  free (copy);
  return r;
}

/* Encode path "safe" (same length as bad), then put bad in its place. */
static int
decode_patched (const char *safe, const char *bad)
{
  struct file_entry e, d;
  struct strbuf sb = STRBUF_INIT;
  char *at;
  int r;

  make_entry (&e, safe);
  struct catalogue_state st = { 0 };
  CHECK (catalogue_encode (&e, &st, &sb) == 0, "encode %s", safe);
  at = memmem (sb.buf, sb.len, safe, strlen (safe));
  memcpy (at, bad, strlen (bad));
  r = decode (&sb, &d);
  if (r == 0)
    file_entry_release (&d);
  file_entry_release (&e);
  strbuf_release (&sb);
  return r;
}

int
main (void)
{
  struct file_entry e, d;
  struct strbuf sb = STRBUF_INIT, stream = STRBUF_INIT;
  struct catalogue_state st = { 0 };

  make_entry (&e, "home/alice/file");
  CHECK (catalogue_encode (&e, &st, &sb) == 0, "encode: %s", get_error ());
  CHECK (decode (&sb, &d) == 0, "decode: %s", get_error ());
  CHECK (strcmp (d.path, e.path) == 0 && strcmp (d.user, "alice") == 0
         && d.group[0] == '\0' && d.target[0] == '\0', "strings");
  CHECK (d.mode == 04755 && d.uid == 1234 && d.gid == 5678
         && d.size == 10 << 20 && d.mtime_sec == -5
         && d.mtime_nsec == 123456789 && d.atime_sec == 1700000000
         && d.atime_nsec == 1 && d.data_offset == 77, "numbers");
  CHECK (d.extents.len == 2 && d.extents.ptr[1].offset == 8 << 20
         && d.extents.ptr[1].length == 1 << 20, "extents");
  CHECK (d.xattrs.len == 1 && strcmp (d.xattrs.ptr[0].name, "user.k") == 0
         && d.xattrs.ptr[0].len == 3
         && memcmp (d.xattrs.ptr[0].value, "v\0w", 3) == 0, "xattrs");
  CHECK (file_entry_data_length (&d) == 4096 + (1 << 20), "data length");
  file_entry_release (&d);

  /* Truncated or padded records are refused. */
  for (size_t cut = 1; cut < sb.len - 4; cut += 7) {
    unsigned char *copy = test_memdup (sb.buf + 4, sb.len - 4 - cut);
    memset (&d, 0, sizeof d);
    memset (&st, 0, sizeof st);
    CHECK (catalogue_decode (copy, sb.len - 4 - cut, &st, &d) == -1,
           "truncated by %zu accepted", cut);
    free (copy);
  }
  strbuf_addstr (&sb, "x");
  CHECK (decode (&sb, &d) == -1, "trailing byte accepted");
  strbuf_release (&sb);

  /* Paths restore must never see. */
  CHECK (decode_patched ("ab/x", "../x") == -1, "'../x' accepted");
  CHECK (decode_patched ("ab/c/d", "ab/../d") == -1, "'ab/../d' accepted");
  CHECK (decode_patched ("abc", "/et") == -1, "absolute path accepted");
  CHECK (decode_patched ("abc", "a//") == -1, "empty component accepted");
  CHECK (decode_patched ("abc", "./a") == -1, "'.' accepted");
  CHECK (decode_patched ("abc", "ab/") == -1, "trailing '/' accepted");
  CHECK (decode_patched ("ab..", "a/..") == -1, "'a/..' accepted");
  CHECK (decode_patched ("abc", "a..") == 0, "'a..' is a fine name");
  CHECK (!catalogue_path_is_safe ("..", 2) && !catalogue_path_is_safe ("", 0)
         && catalogue_path_is_safe ("a/b", 3), "path_is_safe");
  /* The writer refuses them too. */
  file_entry_release (&e);
  make_entry (&e, "../etc/passwd");
  memset (&st, 0, sizeof st);
  CHECK (catalogue_encode (&e, &st, &sb) == -1, "encoded an unsafe path");
  file_entry_release (&e);

  /* Order: a directory comes right before what it holds. */
  CHECK (catalogue_path_cmp ("a", "a/b") < 0, "a < a/b");
  CHECK (catalogue_path_cmp ("a/b", "a.txt") < 0, "a/b < a.txt");
  CHECK (catalogue_path_cmp ("a/z", "ab") < 0, "a/z < ab");
  CHECK (catalogue_path_cmp ("a", "a") == 0, "a == a");

  /* A stream: magic, then records in order. */
  strbuf_add (&stream, CATALOGUE_MAGIC, CATALOGUE_MAGIC_LEN);
  const char *paths[] = { "a", "a/b", "a.txt" };
  memset (&st, 0, sizeof st);
  for (int i = 0; i < 3; i++) {
    make_entry (&e, paths[i]);
    e.data_offset = 100 + i * (8 << 20);
    CHECK (catalogue_encode (&e, &st, &stream) == 0, "encode %d", i);
    file_entry_release (&e);
  }
  /* Stored relative to the previous file's end: the second and third
   * records say 100 + 8 MiB - (100 + 1 MiB + 4 KiB) each. */
  {
    struct catalogue_state rs = { 0 };
    size_t pos = CATALOGUE_MAGIC_LEN;
    for (int i = 0; i < 3; i++) {
      uint32_t rl = (unsigned char) stream.buf[pos]
        | (unsigned char) stream.buf[pos + 1] << 8
        | (unsigned char) stream.buf[pos + 2] << 16;
      memset (&d, 0, sizeof d);
      CHECK (catalogue_decode ((unsigned char *) stream.buf + pos + 4, rl,
                               &rs, &d) == 0, "decode %d", i);
      CHECK (d.data_offset == 100 + (uint64_t) i * (8 << 20),
             "record %d: offset %llu", i, (unsigned long long) d.data_offset);
      file_entry_release (&d);
      pos += 4 + rl;
    }
  }
  CHECK (catalogue_check_buffer ((unsigned char *) stream.buf, stream.len) == 3,
         "stream: %s", get_error ());
  /* The same record twice is out of order. */
  make_entry (&e, "a.txt");
  e.data_offset = 1 << 30;
  catalogue_encode (&e, &st, &stream);
  file_entry_release (&e);
  CHECK (catalogue_check_buffer ((unsigned char *) stream.buf, stream.len) == -1,
         "duplicate accepted");
  strbuf_release (&stream);

  /* A hard link must name an earlier entry. */
  strbuf_add (&stream, CATALOGUE_MAGIC, CATALOGUE_MAGIC_LEN);
  make_entry (&e, "b");
  e.flags = ENTRY_HARDLINK;
  e.target = strdup ("c");
  memset (&st, 0, sizeof st);
  catalogue_encode (&e, &st, &stream);
  file_entry_release (&e);
  CHECK (catalogue_check_buffer ((unsigned char *) stream.buf, stream.len) == -1,
         "hard link to a later entry accepted");
  strbuf_release (&stream);
  return 0;
}
