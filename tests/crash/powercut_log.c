/* The power-cut shim's undo log.
 *
 * The model.  A power cut keeps what a sync made durable and, in the
 * worst case POSIX allows, nothing else:
 *   - a file's data (write, pwrite, writev, ftruncate, fallocate,
 *     O_TRUNC; O_DIRECT too: it bypasses the page cache, not the drive's
 *     cache, and the file size it changes is metadata) is durable once
 *     fsync/fdatasync of that file, or syncfs/sync, returned 0;
 *   - a directory entry (create, unlink, mkdir, rmdir, link, rename) is
 *     durable once fsync of the directory holding it, or syncfs/sync,
 *     returned 0 (a rename: of the destination's directory).  fsync of
 *     a new file does not make its name durable;
 *   - a sync covers only what was done before it began.  Every operation
 *     holds the shared side of a lock from its undo record to its end
 *     and a sync's begin record is written under the exclusive side, so
 *     each operation is wholly before or after that record;
 *   - utimensat (gc's refresh) is not tracked: an mtime is not data;
 *   - one process writes the repository at a time (the record of which
 *     inodes were copied since the last sync is per process), and what
 *     libc does by its internal calls (fopen's open, stdio's write) is
 *     not seen: vmbackup writes no repository file that way.
 *
 * Before each operation on the repository the shim appends a record that
 * says how to undo it (a file's previous content is copied to the save
 * directory, an unlinked or replaced name is first hard-linked there),
 * so the log is complete whenever a SIGKILL strikes: the kernel keeps
 * what a killed process wrote, so the log needs no fsync of its own.
 * tests/crash/powercut.py then undoes what no sync covered.  Records
 * (paths relative to the repository, %XX-escaped):
 *   W id dev:ino SNAP rel        data change; SNAP = 0 (was empty),
 *                                s<name> (a copy), - (copied since the
 *                                last sync began)
 *   C id pdev:pino rel           create       c id dev:ino  (the inode)
 *   U id pdev:pino rel SAVE      unlink       M id pdev:pino rel  mkdir
 *   R id pdev:pino rel           rmdir        L id pdev:pino rel dev:ino
 *   N id pdev:pino src dst dev:ino SAVE       rename (SAVE: the replaced)
 *   B id fs | B id f dev:ino     sync begins  E id  it returned 0
 *   X id                         the operation failed
 *
 * Environment: VMB_POWERCUT_REPO (the directory watched), _LOG, _SAVE
 * (a directory on the same file system), _CRASH_AT=N (SIGKILL the
 * process before its Nth operation on the repository, syncs included),
 * _CRASH_AT_SYNC=N (before its Nth sync: the moment with the most to
 * lose, and the same moment whatever the data). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "powercut.h"

static struct {
  bool active;
  char repo[PATH_MAX];
  size_t repolen;
  dev_t dev;
  char save[PATH_MAX];
  int log_fd;
  unsigned long crash_at, crash_at_sync;
} S;

static atomic_ulong ops, syncs, next_id, next_save;
static pthread_rwlock_t op_lock;
static pthread_mutex_t gen_lock = PTHREAD_MUTEX_INITIALIZER;
/* Incremented at every sync's begin; an inode whose last copy is of an
 * older generation is copied again at its next change. */
static uint64_t gen = 1;
#define GEN_SLOTS (1 << 16)
static struct {
  dev_t dev;
  ino_t ino;
  uint64_t gen;
} gens[GEN_SLOTS];

/* The shim's own file operations are raw system calls: through libc
 * they would come back into the interposed functions. */
static int
raw_openat (int dirfd, const char *path, int flags, mode_t mode)
{
  return syscall (SYS_openat, dirfd, path, flags, mode);
}

static ssize_t
raw_write_all (int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = syscall (SYS_write, fd, p, n);
    if (w <= 0) {
      if (w == -1 && errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= w;
  }
  return 0;
}

__attribute__ ((constructor)) static void
pc_init (void)
{
  const char *repo = getenv ("VMB_POWERCUT_REPO");
  const char *log = getenv ("VMB_POWERCUT_LOG");
  const char *save = getenv ("VMB_POWERCUT_SAVE");
  const char *crash = getenv ("VMB_POWERCUT_CRASH_AT");
  const char *crash_sync = getenv ("VMB_POWERCUT_CRASH_AT_SYNC");
  pthread_rwlockattr_t a;
  struct stat st;

  pthread_rwlockattr_init (&a);
  /* Syncs must not starve behind a stream of chunk writes. */
  pthread_rwlockattr_setkind_np (&a,
                                 PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init (&op_lock, &a);
  if (repo == NULL || log == NULL || save == NULL
      || realpath (repo, S.repo) == NULL || stat (S.repo, &st) == -1
      || realpath (save, S.save) == NULL)
    return;
  S.repolen = strlen (S.repo);
  S.dev = st.st_dev;
  S.crash_at = crash ? strtoul (crash, NULL, 10) : 0;
  S.crash_at_sync = crash_sync ? strtoul (crash_sync, NULL, 10) : 0;
  S.log_fd = raw_openat (AT_FDCWD, log,
                         O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  S.active = S.log_fd >= 0;
}

bool
pc_active (void)
{
  return S.active;
}

static void
escape (const char *in, char *out, size_t len)
{
  size_t o = 0;

  for (; *in && o + 4 < len; in++) {
    unsigned char c = *in;
    if (c <= ' ' || c == '%' || c >= 0x7f)
      o += snprintf (out + o, len - o, "%%%02X", c);
    else
      out[o++] = c;
  }
  out[o] = '\0';
}

/* Is the canonical path p the repository or inside it? */
static const char *
inside (const char *p)
{
  if (strncmp (p, S.repo, S.repolen) != 0)
    return NULL;
  if (p[S.repolen] == '\0')
    return "";
  return p[S.repolen] == '/' ? p + S.repolen + 1 : NULL;
}

int
pc_resolve (int dirfd, const char *name, struct pc_entry *e)
{
  char full[PATH_MAX * 2], canon[PATH_MAX], *slash, *leaf;
  const char *r;
  size_t n;
  int errno_saved = errno;

  if (!S.active || name == NULL || name[0] == '\0')
    return 0;
  if (name[0] == '/')
    snprintf (full, sizeof full, "%s", name);
  else {
    char base[PATH_MAX];
    if (dirfd == AT_FDCWD) {
      if (getcwd (base, sizeof base) == NULL)
        return 0;
    }
    else {
      char link[64];
      ssize_t l;
      snprintf (link, sizeof link, "/proc/self/fd/%d", dirfd);
      l = syscall (SYS_readlinkat, AT_FDCWD, link, base, sizeof base - 1);
      if (l <= 0)
        return 0;
      base[l] = '\0';
    }
    snprintf (full, sizeof full, "%s/%s", base, name);
  }
  n = strlen (full);
  while (n > 1 && full[n - 1] == '/')
    full[--n] = '\0';
  slash = strrchr (full, '/');
  leaf = slash + 1;
  if (strcmp (leaf, ".") == 0 || strcmp (leaf, "..") == 0)
    return 0;
  *slash = '\0';
  if (realpath (full[0] ? full : "/", canon) == NULL
      || (r = inside (canon)) == NULL || stat (canon, &e->parent) == -1) {
    errno = errno_saved;
    return 0;
  }
  snprintf (e->abs, sizeof e->abs, "%s/%s", canon, leaf);
  {
    char rel[PATH_MAX * 2];
    snprintf (rel, sizeof rel, "%s%s%s", r, r[0] ? "/" : "", leaf);
    escape (rel, e->rel, sizeof e->rel);
  }
  errno = errno_saved;
  return 1;
}

int
pc_fd_in_repo (int fd, struct stat *st, char *rel, size_t len)
{
  char link[64], path[PATH_MAX];
  const char *r;
  ssize_t l;
  int errno_saved = errno;

  if (!S.active || fstat (fd, st) == -1 || st->st_dev != S.dev
      || !(S_ISREG (st->st_mode) || S_ISDIR (st->st_mode))) {
    errno = errno_saved;
    return 0;
  }
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  l = syscall (SYS_readlinkat, AT_FDCWD, link, path, sizeof path - 1);
  errno = errno_saved;
  if (l <= 0)
    return 0;
  path[l] = '\0';
  if ((r = inside (path)) == NULL)
    return 0;
  escape (r[0] ? r : ".", rel, len);
  return 1;
}

bool
pc_same_fs (int fd)
{
  struct stat st;
  int errno_saved = errno;
  bool r = S.active && fstat (fd, &st) == 0 && st.st_dev == S.dev;

  errno = errno_saved;
  return r;
}

void
pc_record (const char *fmt, ...)
{
  char buf[16384];
  va_list ap;
  int n, errno_saved = errno;

  va_start (ap, fmt);
  n = vsnprintf (buf, sizeof buf - 1, fmt, ap);
  va_end (ap);
  if (n < 0 || (size_t) n >= sizeof buf - 1)
    abort (); /* a truncated record would make the undo wrong */
  buf[n++] = '\n';
  if (raw_write_all (S.log_fd, buf, n) == -1)
    abort ();
  errno = errno_saved;
}

static void
crash (void)
{
  syscall (SYS_kill, getpid (), SIGKILL);
  for (;;)
    pause ();
}

static void
count_op (void)
{
  unsigned long n = atomic_fetch_add (&ops, 1) + 1;

  if (S.crash_at && n == S.crash_at)
    crash ();
}

void
pc_op_begin (struct pc_op *op)
{
  count_op ();
  pthread_rwlock_rdlock (&op_lock);
  op->id = atomic_fetch_add (&next_id, 1) + 1;
}

void
pc_op_end (struct pc_op *op, bool failed)
{
  int errno_saved = errno;

  if (failed)
    pc_record ("X %d.%lu", getpid (), op->id);
  pthread_rwlock_unlock (&op_lock);
  errno = errno_saved;
}

/* Is a copy of this inode's content needed (none since the last sync
 * began)?  Remembers that one is being taken. */
static bool
needs_copy (const struct stat *st)
{
  size_t h = ((size_t) st->st_ino * 2654435761u) % GEN_SLOTS;
  bool r = true;

  pthread_mutex_lock (&gen_lock);
  for (size_t i = 0; i < GEN_SLOTS; i++, h = (h + 1) % GEN_SLOTS) {
    if (gens[h].gen == 0
        || (gens[h].dev == st->st_dev && gens[h].ino == st->st_ino)) {
      r = gens[h].gen != gen;
      gens[h].dev = st->st_dev;
      gens[h].ino = st->st_ino;
      gens[h].gen = gen;
      break;
    }
  }
  pthread_mutex_unlock (&gen_lock);
  return r;
}

/* Copy the current content of the file (open as fd, or at path) to the
 * save directory; "0" for an empty file. */
static void
take_copy (int fd, const char *path, off_t size, char *snap, size_t len)
{
  char proc[64], dst[PATH_MAX + 64], buf[65536];
  int in, out;
  ssize_t n;

  if (size == 0) {
    snprintf (snap, len, "0");
    return;
  }
  if (path == NULL) {
    snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
    path = proc;
  }
  snprintf (snap, len, "s%d-%lu", getpid (), atomic_fetch_add (&next_save, 1));
  snprintf (dst, sizeof dst, "%s/%s", S.save, snap);
  in = raw_openat (AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  out = raw_openat (AT_FDCWD, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    0600);
  if (in == -1 || out == -1)
    abort (); /* without the copy the undo cannot be right */
  while ((n = syscall (SYS_read, in, buf, sizeof buf)) > 0)
    if (raw_write_all (out, buf, n) == -1)
      abort ();
  if (n == -1)
    abort ();
  syscall (SYS_close, in);
  syscall (SYS_close, out);
}

void
pc_data (struct pc_op *op, int fd, const char *path, const struct stat *st,
         const char *rel)
{
  char snap[64] = "-";
  int errno_saved = errno;

  if (needs_copy (st))
    take_copy (fd, path, st->st_size, snap, sizeof snap);
  pc_record ("W %d.%lu %lu:%lu %s %s", getpid (), op->id,
             (unsigned long) st->st_dev, (unsigned long) st->st_ino, snap,
             rel);
  errno = errno_saved;
}

const char *
pc_save_link (const char *abs, char *buf, size_t len)
{
  char dst[PATH_MAX + 64];
  int errno_saved = errno;

  snprintf (buf, len, "u%d-%lu", getpid (), atomic_fetch_add (&next_save, 1));
  snprintf (dst, sizeof dst, "%s/%s", S.save, buf);
  if (syscall (SYS_linkat, AT_FDCWD, abs, AT_FDCWD, dst, 0) == -1)
    snprintf (buf, len, "-");
  errno = errno_saved;
  return buf;
}

unsigned long
pc_sync_begin (const struct stat *file)
{
  unsigned long id;

  count_op ();
  if (S.crash_at_sync && atomic_fetch_add (&syncs, 1) + 1 == S.crash_at_sync)
    crash ();
  pthread_rwlock_wrlock (&op_lock);
  id = atomic_fetch_add (&next_id, 1) + 1;
  pthread_mutex_lock (&gen_lock);
  gen++;
  pthread_mutex_unlock (&gen_lock);
  if (file)
    pc_record ("B %d.%lu f %lu:%lu", getpid (), id,
               (unsigned long) file->st_dev, (unsigned long) file->st_ino);
  else
    pc_record ("B %d.%lu fs", getpid (), id);
  pthread_rwlock_unlock (&op_lock);
  return id;
}

void
pc_sync_end (unsigned long id, int r)
{
  if (r == 0)
    pc_record ("E %d.%lu", getpid (), id);
}
