/* Walking the trees a file backup reads, in catalogue order.
 *
 * Each root is made absolute and canonical; its ancestors are visited
 * first (their metadata only) so that a restore recreates them as they
 * were; then the root and everything below it, each directory's
 * entries sorted by name and visited before what they contain.  Only
 * one directory listing per level is in memory. */
#ifndef VMB_WALK_H
#define VMB_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "catalogue.h"

struct walk_opts {
  char **excludes; /* fnmatch patterns (see walk.c) */
  size_t nexcludes;
  bool one_file_system;
  bool prefetch; /* start reading files ahead of the walk:
                                 * worth it when most files will be read
                                 * (not when a previous backup lets
                                 * unchanged files be skipped) */
};

/* What the visitor gets: e has everything but the data (extents, data
 * offset) filled in from st; a regular file is opened with
 * openat (dirfd, name, ...). */
struct walk_item {
  struct file_entry *e;
  const struct stat *st;
  int dirfd;
  const char *name;
  const char *abspath;
};

enum walk_problem {
  WALK_VANISHED,   /* gone between listing and lstat */
  WALK_UNREADABLE, /* cannot list, lstat or readlink */
  WALK_SOCKET,     /* sockets are not backed up */
  WALK_OTHER_FS,   /* not descended: --one-file-system */
  WALK_NO_XATTRS,  /* stored without its xattrs */
};

struct walk_ops {
  /* -1 stops the walk (with the error set). */
  int (*visit) (void *opaque, struct walk_item *it);
  void (*problem) (void *opaque, enum walk_problem what, const char *abspath,
                   int err);
  void *opaque;
};

/* -1 when the walk could not run or the visitor stopped it; problems
 * with single entries are reported and the walk goes on. */
int walk_roots (const struct walk_opts *o, char *const *roots, size_t nroots,
                const struct walk_ops *ops);

#endif
