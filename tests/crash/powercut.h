/* The power-cut shim (an LD_PRELOAD library for the tests, see
 * powercut_log.c for the model and tests/test-power-loss.sh for its use):
 * what the interposed calls (powercut.c) share with the undo log. */
#ifndef VMB_TESTS_POWERCUT_H
#define VMB_TESTS_POWERCUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* An entry named by (dirfd, name), resolved against the repository. */
struct pc_entry {
  char abs[4096]; /* canonical parent + "/" + leaf */
  char rel[4096]; /* the same relative to the repository, escaped */
  struct stat parent;
};

/* An intercepted operation on the repository between its undo record
 * and its completion (powercut_log.c holds the lock in between). */
struct pc_op {
  unsigned long id;
};

bool pc_active (void);
/* 1 if (dirfd, name) is inside the repository (e filled), else 0. */
int pc_resolve (int dirfd, const char *name, struct pc_entry *e);
/* 1 if fd is a file or directory inside the repository. */
int pc_fd_in_repo (int fd, struct stat *st, char *rel, size_t len);
bool pc_same_fs (int fd);

/* Before a mutating operation: count it (the crash point), take the
 * shared side of the lock, and give it an ID for its records. */
void pc_op_begin (struct pc_op *op);
/* After it: "X id" if it failed, then drop the lock; errno is kept. */
void pc_op_end (struct pc_op *op, bool failed);
/* Append one record (one line, one write(2), O_APPEND). */
void pc_record (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* A data change of an open file: "W id dev:ino SNAP rel", SNAP the
 * file's content before it (copied to the save directory) unless one
 * was taken since the last sync began. */
void pc_data (struct pc_op *op, int fd, const char *path,
              const struct stat *st, const char *rel);
/* A name moved into the save directory so that an undo can bring the
 * inode back: returns the save name or "-". */
const char *pc_save_link (const char *abs, char *buf, size_t len);

/* Syncs: "B id fs" or "B id f dev:ino" under the exclusive lock (no
 * operation in flight), then "E id" once the sync returned 0. */
unsigned long pc_sync_begin (const struct stat *file);
void pc_sync_end (unsigned long id, int r);

#endif
