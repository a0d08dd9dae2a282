/* The power-cut shim's interposed calls: every libc entry point by which
 * vmbackup creates, changes, renames, removes or syncs a file of the
 * repository (see powercut_log.c for the model).  Calls outside the
 * repository go straight to libc.  libc's own internal calls (mkostemp's
 * open, fopen's) do not come through here: mkostemp is interposed whole,
 * and vmbackup opens no repository file with fopen. */
/* Both the plain and the 64 forms are interposed: keep their names
 * apart (meson defines this, which would make them one). */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "powercut.h"

#define REAL(name)                                            \
  ({                                                          \
    static __typeof__ (name) *real_;                          \
    if (real_ == NULL)                                        \
      real_ = (__typeof__ (name) *) dlsym (RTLD_NEXT, #name); \
    real_;                                                    \
  })

/* A data change of an open file: run CALL between the undo record and
 * the end of the operation. */
#define DATA_OP(fd, type, call)                        \
  do {                                                 \
    struct stat st_;                                   \
    char rel_[4096];                                   \
    struct pc_op op_;                                  \
    type r_;                                           \
    if (!pc_fd_in_repo ((fd), &st_, rel_, sizeof rel_) \
        || !S_ISREG (st_.st_mode))                     \
      return (call);                                   \
    pc_op_begin (&op_);                                \
    pc_data (&op_, (fd), NULL, &st_, rel_);            \
    r_ = (call);                                       \
    pc_op_end (&op_, r_ == -1);                        \
    return r_;                                         \
  } while (0)

ssize_t
write (int fd, const void *buf, size_t n)
{
  DATA_OP (fd, ssize_t, REAL (write) (fd, buf, n));
}

ssize_t
pwrite (int fd, const void *buf, size_t n, off_t off)
{
  DATA_OP (fd, ssize_t, REAL (pwrite) (fd, buf, n, off));
}

ssize_t
pwrite64 (int fd, const void *buf, size_t n, off_t off)
{
  DATA_OP (fd, ssize_t, REAL (pwrite64) (fd, buf, n, off));
}

ssize_t
writev (int fd, const struct iovec *iov, int cnt)
{
  DATA_OP (fd, ssize_t, REAL (writev) (fd, iov, cnt));
}

ssize_t
pwritev (int fd, const struct iovec *iov, int cnt, off_t off)
{
  DATA_OP (fd, ssize_t, REAL (pwritev) (fd, iov, cnt, off));
}

ssize_t
pwritev2 (int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
  DATA_OP (fd, ssize_t, REAL (pwritev2) (fd, iov, cnt, off, flags));
}

int
ftruncate (int fd, off_t len)
{
  DATA_OP (fd, int, REAL (ftruncate) (fd, len));
}

int
ftruncate64 (int fd, off_t len)
{
  DATA_OP (fd, int, REAL (ftruncate64) (fd, len));
}

int
fallocate (int fd, int mode, off_t off, off_t len)
{
  DATA_OP (fd, int, REAL (fallocate) (fd, mode, off, len));
}

int
fallocate64 (int fd, int mode, off_t off, off_t len)
{
  DATA_OP (fd, int, REAL (fallocate64) (fd, mode, off, len));
}

int
posix_fallocate (int fd, off_t off, off_t len)
{
  struct stat st;
  char rel[4096];
  struct pc_op op;
  int r;

  if (!pc_fd_in_repo (fd, &st, rel, sizeof rel) || !S_ISREG (st.st_mode))
    return REAL (posix_fallocate) (fd, off, len);
  pc_op_begin (&op);
  pc_data (&op, fd, NULL, &st, rel);
  r = REAL (posix_fallocate) (fd, off, len); /* an error number, not -1 */
  pc_op_end (&op, r != 0);
  return r;
}

ssize_t
copy_file_range (int in, off_t *inoff, int out, off_t *outoff, size_t n,
                 unsigned flags)
{
  DATA_OP (out, ssize_t,
           REAL (copy_file_range) (in, inoff, out, outoff, n, flags));
}

int
truncate (const char *path, off_t len)
{
  struct pc_entry e;
  struct stat st;
  struct pc_op op;
  int r;

  if (!pc_resolve (AT_FDCWD, path, &e) || stat (e.abs, &st) == -1)
    return REAL (truncate) (path, len);
  pc_op_begin (&op);
  pc_data (&op, -1, e.abs, &st, e.rel);
  r = REAL (truncate) (path, len);
  pc_op_end (&op, r == -1);
  return r;
}

/* Syncs. */
static int
sync_op (int fd, int (*fn) (int))
{
  struct stat st;
  char rel[4096];
  unsigned long id;
  int r;

  if (!pc_fd_in_repo (fd, &st, rel, sizeof rel))
    return fn (fd);
  id = pc_sync_begin (&st);
  r = fn (fd);
  pc_sync_end (id, r);
  return r;
}

int
fsync (int fd)
{
  return sync_op (fd, REAL (fsync));
}

int
fdatasync (int fd)
{
  return sync_op (fd, REAL (fdatasync));
}

int
syncfs (int fd)
{
  unsigned long id;
  int r;

  if (!pc_same_fs (fd))
    return REAL (syncfs) (fd);
  id = pc_sync_begin (NULL);
  r = REAL (syncfs) (fd);
  pc_sync_end (id, r);
  return r;
}

void
sync (void)
{
  unsigned long id = pc_active () ? pc_sync_begin (NULL) : 0;

  REAL (sync) ();
  if (id)
    pc_sync_end (id, 0);
}

/* sync_file_range writes pages back but syncs neither the metadata
 * nor the drive's cache: no durability, nothing to record. */

/* Opening: a create, or a truncation of an existing file. */
static int
open_common (int dirfd, const char *path, int flags, mode_t mode)
{
  struct pc_entry e;
  struct stat st;
  struct pc_op op;
  bool exists;
  int fd;

  if (!(flags & (O_CREAT | O_TRUNC)) || (flags & O_TMPFILE) == O_TMPFILE
      || !pc_resolve (dirfd, path, &e))
    return REAL (openat) (dirfd, path, flags, mode);
  exists = stat (e.abs, &st) == 0;
  if (!exists && (flags & O_CREAT)) {
    pc_op_begin (&op);
    pc_record ("C %d.%lu %lu:%lu %s", getpid (), op.id,
               (unsigned long) e.parent.st_dev,
               (unsigned long) e.parent.st_ino, e.rel);
    fd = REAL (openat) (dirfd, path, flags, mode);
    if (fd >= 0 && fstat (fd, &st) == 0)
      pc_record ("c %d.%lu %lu:%lu", getpid (), op.id,
                 (unsigned long) st.st_dev, (unsigned long) st.st_ino);
    pc_op_end (&op, fd == -1);
    return fd;
  }
  if (exists && (flags & O_TRUNC) && S_ISREG (st.st_mode)
      && (flags & O_ACCMODE) != O_RDONLY) {
    pc_op_begin (&op);
    pc_data (&op, -1, e.abs, &st, e.rel);
    fd = REAL (openat) (dirfd, path, flags, mode);
    pc_op_end (&op, fd == -1);
    return fd;
  }
  return REAL (openat) (dirfd, path, flags, mode);
}

#define OPEN_MODE(flags)                   \
  ({                                       \
    mode_t m_ = 0;                         \
    if ((flags) & (O_CREAT | O_TMPFILE)) { \
      va_list ap_;                         \
      va_start (ap_, flags);               \
      m_ = va_arg (ap_, mode_t);           \
      va_end (ap_);                        \
    }                                      \
    m_;                                    \
  })

int
open (const char *path, int flags, ...)
{
  return open_common (AT_FDCWD, path, flags, OPEN_MODE (flags));
}

int
open64 (const char *path, int flags, ...)
{
  return open_common (AT_FDCWD, path, flags, OPEN_MODE (flags));
}

int
openat (int dirfd, const char *path, int flags, ...)
{
  return open_common (dirfd, path, flags, OPEN_MODE (flags));
}

int
openat64 (int dirfd, const char *path, int flags, ...)
{
  return open_common (dirfd, path, flags, OPEN_MODE (flags));
}

/* The fortified forms, used when the flags are not known at compile
 * time and hold no O_CREAT. */
int __open_2 (const char *path, int flags);
int __open64_2 (const char *path, int flags);
int __openat_2 (int dirfd, const char *path, int flags);
int __openat64_2 (int dirfd, const char *path, int flags);

int
__open_2 (const char *path, int flags)
{
  return open_common (AT_FDCWD, path, flags, 0);
}

int
__open64_2 (const char *path, int flags)
{
  return open_common (AT_FDCWD, path, flags, 0);
}

int
__openat_2 (int dirfd, const char *path, int flags)
{
  return open_common (dirfd, path, flags, 0);
}

int
__openat64_2 (int dirfd, const char *path, int flags)
{
  return open_common (dirfd, path, flags, 0);
}

int
creat (const char *path, mode_t mode)
{
  return open_common (AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int
creat64 (const char *path, mode_t mode)
{
  return open_common (AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

/* mkostemp and friends open through libc's internal open, which the
 * shim does not see: inside the repository they are done here. */
static int
tempfile (char *tmpl, int suffixlen, int flags)
{
  static const char letters[] = "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  size_t len = strlen (tmpl);
  struct pc_entry e;
  char *x;

  if (suffixlen < 0 || len < 6 + (size_t) suffixlen
      || strncmp (tmpl + len - suffixlen - 6, "XXXXXX", 6) != 0) {
    errno = EINVAL;
    return -1;
  }
  if (!pc_resolve (AT_FDCWD, tmpl, &e))
    return REAL (mkostemps) (tmpl, suffixlen, flags);
  x = tmpl + len - suffixlen - 6;
  for (int attempt = 0; attempt < 1000; attempt++) {
    unsigned char r[6];
    int fd;

    if (getrandom (r, sizeof r, 0) != sizeof r)
      return -1;
    for (int i = 0; i < 6; i++)
      x[i] = letters[r[i] % (sizeof letters - 1)];
    fd = open_common (AT_FDCWD, tmpl,
                      (flags & ~O_ACCMODE) | O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  errno = EEXIST;
  return -1;
}

int
mkstemp (char *tmpl)
{
  return tempfile (tmpl, 0, 0);
}

int
mkstemp64 (char *tmpl)
{
  return tempfile (tmpl, 0, 0);
}

int
mkostemp (char *tmpl, int flags)
{
  return tempfile (tmpl, 0, flags);
}

int
mkostemp64 (char *tmpl, int flags)
{
  return tempfile (tmpl, 0, flags);
}

int
mkstemps (char *tmpl, int suffixlen)
{
  return tempfile (tmpl, suffixlen, 0);
}

int
mkostemps (char *tmpl, int suffixlen, int flags)
{
  return tempfile (tmpl, suffixlen, flags);
}

/* Directory entries. */
static void
record_entry (char type, struct pc_op *op, const struct pc_entry *e,
              const char *extra)
{
  pc_record ("%c %d.%lu %lu:%lu %s%s%s", type, getpid (), op->id,
             (unsigned long) e->parent.st_dev,
             (unsigned long) e->parent.st_ino, e->rel, extra ? " " : "",
             extra ? extra : "");
}

int
mkdirat (int dirfd, const char *path, mode_t mode)
{
  struct pc_entry e;
  struct pc_op op;
  int r;

  if (!pc_resolve (dirfd, path, &e))
    return REAL (mkdirat) (dirfd, path, mode);
  pc_op_begin (&op);
  record_entry ('M', &op, &e, NULL);
  r = REAL (mkdirat) (dirfd, path, mode);
  pc_op_end (&op, r == -1);
  return r;
}

int
mkdir (const char *path, mode_t mode)
{
  return mkdirat (AT_FDCWD, path, mode);
}

int
unlinkat (int dirfd, const char *path, int flags)
{
  struct pc_entry e;
  struct pc_op op;
  struct stat st;
  char save[64];
  int r;

  if (!pc_resolve (dirfd, path, &e) || lstat (e.abs, &st) == -1)
    return REAL (unlinkat) (dirfd, path, flags);
  pc_op_begin (&op);
  if (flags & AT_REMOVEDIR)
    record_entry ('R', &op, &e, NULL);
  else
    record_entry ('U', &op, &e, pc_save_link (e.abs, save, sizeof save));
  r = REAL (unlinkat) (dirfd, path, flags);
  pc_op_end (&op, r == -1);
  return r;
}

int
unlink (const char *path)
{
  return unlinkat (AT_FDCWD, path, 0);
}

int
rmdir (const char *path)
{
  return unlinkat (AT_FDCWD, path, AT_REMOVEDIR);
}

int
linkat (int olddirfd, const char *old, int newdirfd, const char *new,
        int flags)
{
  struct pc_entry e;
  struct pc_op op;
  struct stat st;
  char ino[64];
  int r;

  if (!pc_resolve (newdirfd, new, &e)
      || fstatat (olddirfd, old, &st,
                  (flags & AT_EMPTY_PATH)
                    | (flags & AT_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW))
        == -1)
    return REAL (linkat) (olddirfd, old, newdirfd, new, flags);
  snprintf (ino, sizeof ino, "%lu:%lu", (unsigned long) st.st_dev,
            (unsigned long) st.st_ino);
  pc_op_begin (&op);
  record_entry ('L', &op, &e, ino);
  r = REAL (linkat) (olddirfd, old, newdirfd, new, flags);
  pc_op_end (&op, r == -1);
  return r;
}

int
link (const char *old, const char *new)
{
  return linkat (AT_FDCWD, old, AT_FDCWD, new, 0);
}

int
renameat2 (int olddirfd, const char *old, int newdirfd, const char *new,
           unsigned flags)
{
  struct pc_entry src, dst;
  struct pc_op op;
  struct stat st, dst_st;
  char extra[4096 + 128], save[64] = "-";
  int r;

  if (!pc_resolve (newdirfd, new, &dst))
    return REAL (renameat2) (olddirfd, old, newdirfd, new, flags);
  /* vmbackup renames only inside the repository, never exchanges: say
   * so in the log (the undo refuses) rather than guess. */
  if (!pc_resolve (olddirfd, old, &src) || (flags & RENAME_EXCHANGE)
      || lstat (src.abs, &st) == -1) {
    pc_op_begin (&op);
    pc_record ("? %d.%lu rename %s", getpid (), op.id, dst.rel);
    r = REAL (renameat2) (olddirfd, old, newdirfd, new, flags);
    pc_op_end (&op, r == -1);
    return r;
  }
  pc_op_begin (&op);
  if (lstat (dst.abs, &dst_st) == 0 && !S_ISDIR (dst_st.st_mode)
      && !(flags & RENAME_NOREPLACE))
    pc_save_link (dst.abs, save, sizeof save);
  snprintf (extra, sizeof extra, "%s %lu:%lu %s", dst.rel,
            (unsigned long) st.st_dev, (unsigned long) st.st_ino, save);
  pc_record ("N %d.%lu %lu:%lu %s %s", getpid (), op.id,
             (unsigned long) dst.parent.st_dev,
             (unsigned long) dst.parent.st_ino, src.rel, extra);
  r = REAL (renameat2) (olddirfd, old, newdirfd, new, flags);
  pc_op_end (&op, r == -1);
  return r;
}

int
renameat (int olddirfd, const char *old, int newdirfd, const char *new)
{
  return renameat2 (olddirfd, old, newdirfd, new, 0);
}

int
rename (const char *old, const char *new)
{
  return renameat2 (AT_FDCWD, old, AT_FDCWD, new, 0);
}
