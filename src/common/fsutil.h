/* Crash-safe file primitives: every file the repository publishes is
 * written under a temporary name, fsynced, renamed into place, and its
 * directory fsynced (git's lockfile.h, casync's chunk save). */
#ifndef VMB_FSUTIL_H
#define VMB_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Write all of buf to fd at offset (or at the current position when
 * offset < 0), retrying short writes and EINTR. */
int write_full (int fd, const void *buf, size_t len, off_t offset);
/* Read exactly len bytes at offset; a short file is an error (EIO). */
int read_full (int fd, void *buf, size_t len, off_t offset);

int fsync_dir (const char *dir);
/* fsync the directory holding path: makes path's name durable. */
int fsync_parent (const char *path);
/* Create the directory if missing (one level). */
int mkdir_if_missing (const char *path, mode_t mode);

/* Create a unique temporary file "<dir>/.tmp-XXXXXX"; returns fd and the
 * malloc'd path in *tmppath. */
int tmpfile_create (const char *dir, char **tmppath);
/* fsync fd, close it, rename tmppath to path, fsync path's directory.
 * On failure the temporary file is removed. */
int tmpfile_commit (int fd, const char *tmppath, const char *path);
/* Like tmpfile_commit but fails with EEXIST instead of replacing. */
int tmpfile_commit_new (int fd, const char *tmppath, const char *path);
/* Abandon a temporary file: close *fd and remove and free *tmppath
 * (each if set), leaving *fd -1 and *tmppath NULL. */
void tmpfile_discard (int *fd, char **tmppath);

/* Atomically replace path with buf. */
int write_file_atomic (const char *path, const void *buf, size_t len);

/* Open a file of the repository: O_NONBLOCK, so that a FIFO or device
 * put in its place cannot hang the reader, then only a regular file is
 * accepted (O_NONBLOCK cleared again).  flags gets O_CLOEXEC.  Errors
 * name the file as name: "<name>: <strerror>" (get_errno says which) or
 * "<name>: not a regular file" (errno 0). */
int open_regular (int dirfd, const char *path, int flags, mode_t mode,
                  const char *name);

/* Read a whole regular file of at most max bytes into a NUL-terminated
 * malloc'd buffer (opened as open_regular does). */
int read_file (const char *path, size_t max, char **buf, size_t *len);

/* fd itself, or if it is 0, 1 or 2 a close-on-exec copy above 2 (fd is
 * closed): a child's 0, 1 and 2 are set to other files before exec, and
 * we may have been started with them closed.  -1 stays -1. */
int fd_above_stdio (int fd);

#endif
