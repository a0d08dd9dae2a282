/* The catalogue of a file backup: one record per entry (file,
 * directory, symlink, device, FIFO), in path order, as a byte stream.
 *
 *   stream  = "VMBCATL1" *record
 *   record  = u32 body length, then the body (at most CATALOGUE_MAX_RECORD)
 *
 * docs/repository-format.pod gives the body layout; catalogue.c is the
 * only code that knows it.  Records are decoded strictly: a path that
 * is absolute, empty, has "." or ".." or empty components, or an
 * inconsistent length, makes the whole record invalid, so restore never
 * sees such a path. */
#ifndef VMB_CATALOGUE_H
#define VMB_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "common/vector.h"

#define CATALOGUE_MAGIC "VMBCATL1"
#define CATALOGUE_MAGIC_LEN 8
#define CATALOGUE_MAX_RECORD (16u << 20)
#define CATALOGUE_FIXED_LEN 96
#define CATALOGUE_MAX_PATH 4096
#define CATALOGUE_MAX_NAME 255 /* user, group, xattr names */
#define CATALOGUE_MAX_XATTR_VALUE 65536
#define CATALOGUE_MAX_EXTENTS 65536

enum entry_type {
  ENTRY_REG = 1,
  ENTRY_DIR,
  ENTRY_SYMLINK,
  ENTRY_CHR,
  ENTRY_BLK,
  ENTRY_FIFO,
};

/* Record flags. */
#define ENTRY_CHANGED 1  /* changed while read, stored anyway */
#define ENTRY_HARDLINK 2 /* a link to target, an earlier entry */
#define ENTRY_FLAGS_KNOWN 3

struct extent {
  uint64_t offset, length; /* a data range of the file */
};
DEFINE_VECTOR_TYPE (extent_vector, struct extent);

struct xattr {
  char *name;
  unsigned char *value;
  size_t len;
};
DEFINE_VECTOR_TYPE (xattr_vector, struct xattr);

struct file_entry {
  enum entry_type type;
  unsigned flags;
  uint32_t mode; /* permission bits and suid/sgid/sticky */
  uint32_t uid, gid;
  uint64_t size; /* regular files; symlinks: target length */
  int64_t mtime_sec, atime_sec, ctime_sec;
  uint32_t mtime_nsec, atime_nsec, ctime_nsec;
  uint64_t inode; /* with ctime: is it the file we saw? */
  uint32_t rdev_major, rdev_minor;
  /* Regular files: the data extents, stored one after the other in the
   * data stream from data_offset on.  Holes between them are not
   * stored; a hard link repeats its target's extents.  In memory
   * data_offset is absolute; on disk it is relative (catalogue_state). */
  uint64_t data_offset;
  extent_vector extents;
  char *path;         /* relative, "/"-separated */
  char *user, *group; /* "" when the ID has no name */
  char *target;       /* symlink target, or hard link target */
  xattr_vector xattrs;
};

void file_entry_release (struct file_entry *e);
uint64_t file_entry_data_length (const struct file_entry *e);

/* What a record's data offset is relative to.  A file's data usually
 * starts where the previous file's ended, so records store the gap
 * (usually 0), not the absolute offset: a change early in a tree then
 * leaves every later record byte for byte the same, and the catalogue
 * deduplicates.  Hard links store their (earlier) offset as is. */
struct catalogue_state {
  uint64_t data_end; /* end of the last non-link file's data */
};

/* Append e as a record (length and body) to out. */
int catalogue_encode (const struct file_entry *e, struct catalogue_state *st,
                      struct strbuf *out);
/* Decode one record body of len bytes into e (zeroed by the caller;
 * released on failure). */
int catalogue_decode (const unsigned char *body, size_t len,
                      struct catalogue_state *st, struct file_entry *e);

/* A path restore may create: relative, no empty, "." or ".."
 * components, at most CATALOGUE_MAX_PATH bytes. */
bool catalogue_path_is_safe (const char *path, size_t len);
/* The catalogue order: component by component, bytewise, a directory
 * before what it contains ("a" < "a/b" < "a.txt"). */
int catalogue_path_cmp (const char *a, const char *b);

#endif
