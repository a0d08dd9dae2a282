/* File restore (see file_restore.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/vector.h"
#include "catalogue_reader.h"
#include "stream_reader.h"
#include "file_restore.h"

/* A directory being filled: its metadata is applied when we leave it,
 * after its contents changed its mtime (and when a read-only mode no
 * longer stops us writing into it). */
struct frame {
  char *path; /* "" for the target itself */
  int fd;
  struct file_entry meta;
  bool has_meta;
};
DEFINE_VECTOR_TYPE (frame_vector, struct frame);

struct restore {
  const struct files_restore_params *p;
  struct files_restore_result *res;
  struct stream_reader data;
  frame_vector stack;
  bool *matched;
};

static void
entry_error (struct restore *r, const char *path, const char *what, int err)
{
  char msg[PATH_MAX + 256];

  snprintf (msg, sizeof msg, "%s: %s%s%s", path, what, err ? ": " : "",
            err ? strerror (err) : "");
  event_emit (r->p->events, EV_FILE_RESTORE_ERROR, "%s", msg);
  r->p->report (r->p->opaque, msg);
  r->res->errors++;
}

/* Is path one of the selected paths, inside one, or an ancestor of one
 * (needed to reach it)? */
static bool
needed (struct restore *r, const char *path)
{
  size_t pl = strlen (path);
  bool want = r->p->npaths == 0;

  for (size_t i = 0; i < r->p->npaths; i++) {
    const char *s = r->p->paths[i];
    size_t sl = strlen (s);
    if (strncmp (path, s, sl) == 0 && (path[sl] == '\0' || path[sl] == '/')) {
      r->matched[i] = true;
      want = true;
    }
    else if (strncmp (s, path, pl) == 0 && s[pl] == '/')
      want = true;
  }
  return want;
}

static bool
selected (struct restore *r, const char *path)
{
  if (r->p->npaths == 0)
    return true;
  for (size_t i = 0; i < r->p->npaths; i++) {
    size_t sl = strlen (r->p->paths[i]);
    if (strncmp (path, r->p->paths[i], sl) == 0
        && (path[sl] == '\0' || path[sl] == '/'))
      return true;
  }
  return false;
}

/* Metadata, in the order that keeps each step from undoing the last:
 * owner (which clears set-ID bits), mode, xattrs (an ACL rewrites the
 * group mode bits consistently), times (last, after every write).  fd
 * is the entry's, or -1 for a symlink, FIFO or device, named by dirfd
 * and name and never followed. */
static void
apply_meta (struct restore *r, int fd, int dirfd, const char *name,
            const struct file_entry *e)
{
  struct timespec ts[2] = {
    { e->atime_sec, e->atime_nsec },
    { e->mtime_sec, e->mtime_nsec },
  };
  bool link = e->type == ENTRY_SYMLINK;
  CLEANUP_CLOSE int pathfd = -1;
  char proc[64] = "";
  int rc;

  rc = fd >= 0 ? fchown (fd, e->uid, e->gid)
               : fchownat (dirfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
  if (rc == -1) {
    if (errno == EPERM || errno == EINVAL)
      r->res->no_owner++;
    else
      entry_error (r, e->path, "set owner", errno);
  }
  if (!link
      && (fd >= 0 ? fchmod (fd, e->mode)
                  : fchmodat (dirfd, name, e->mode, AT_SYMLINK_NOFOLLOW))
        == -1)
    entry_error (r, e->path, "set mode", errno);
  if (fd < 0 && !link && e->xattrs.len) {
    /* Opening a FIFO or device for real could block or act on it; an
     * O_PATH descriptor does neither, and /proc/self/fd/N names exactly
     * its inode. */
    pathfd = openat (dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (pathfd >= 0)
      snprintf (proc, sizeof proc, "/proc/self/fd/%d", pathfd);
  }
  for (size_t i = 0; i < e->xattrs.len; i++) {
    const struct xattr *x = &e->xattrs.ptr[i];
    /* A symlink's own xattrs would need a path-based call through
     * directories an attacker may control: not restored. */
    if (fd >= 0
          ? fsetxattr (fd, x->name, x->value, x->len, 0) == -1
          : !proc[0] || setxattr (proc, x->name, x->value, x->len, 0) == -1)
      r->res->no_xattrs++;
  }
  rc = fd >= 0 ? futimens (fd, ts)
               : utimensat (dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
  if (rc == -1)
    entry_error (r, e->path, "set times", errno);
}

static void
pop_frame (struct restore *r)
{
  struct frame *f = &r->stack.ptr[--r->stack.len];

  if (f->has_meta)
    apply_meta (r, f->fd, -1, NULL, &f->meta);
  file_entry_release (&f->meta);
  close (f->fd);
  free (f->path);
}

static int
push_frame (struct restore *r, const char *path, int fd,
            struct file_entry *meta)
{
  struct frame f = { .path = strdup (path), .fd = fd };

  if (f.path == NULL || frame_vector_append (&r->stack, f) == -1) {
    free (f.path);
    close (fd);
    set_error (ENOMEM, "restore");
    return -1;
  }
  if (meta) {
    /* The frame takes the entry over. */
    r->stack.ptr[r->stack.len - 1].meta = *meta;
    r->stack.ptr[r->stack.len - 1].has_meta = true;
    memset (meta, 0, sizeof *meta);
  }
  return 0;
}

/* Is dir (a frame path) dir itself or above path's parent? */
static bool
holds (const char *dir, const char *parent)
{
  size_t l = strlen (dir);

  return l == 0
    || (strncmp (parent, dir, l) == 0
        && (parent[l] == '\0' || parent[l] == '/'));
}

/* Make room for a new entry called name in dirfd: nothing there, or a
 * directory we may reuse (want_dir), or a non-directory we remove. */
static int
clear_name (int dirfd, const char *name, bool want_dir, bool *exists_dir)
{
  struct stat st;

  *exists_dir = false;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
    return errno == ENOENT ? 0 : -1;
  if (S_ISDIR (st.st_mode)) {
    if (want_dir) {
      *exists_dir = true;
      return 0;
    }
    errno = EISDIR;
    return -1;
  }
  return unlinkat (dirfd, name, 0);
}

/* Create (or reuse) directory name in dirfd; returns its fd. */
static int
make_dir (int dirfd, const char *name)
{
  bool exists;

  if (clear_name (dirfd, name, true, &exists) == -1)
    return -1;
  if (!exists && mkdirat (dirfd, name, 0700) == -1)
    return -1;
  return openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Leave the directories that do not hold parent, then enter (creating
 * without metadata) those between the top of the stack and parent. */
static int
enter_parent (struct restore *r, const char *parent)
{
  while (r->stack.len > 1
         && !holds (r->stack.ptr[r->stack.len - 1].path, parent))
    pop_frame (r);
  while (strcmp (r->stack.ptr[r->stack.len - 1].path, parent) != 0) {
    const char *top = r->stack.ptr[r->stack.len - 1].path;
    size_t tl = strlen (top);
    const char *comp = parent + tl + (tl > 0);
    const char *slash = strchr (comp, '/');
    CLEANUP_FREE char *name = strndup (comp,
                                       slash ? (size_t) (slash - comp)
                                             : strlen (comp));
    CLEANUP_FREE char *path = strndup (parent,
                                       slash ? (size_t) (slash - parent)
                                             : strlen (parent));
    int fd;

    if (name == NULL || path == NULL) {
      set_error (ENOMEM, "restore");
      return -1;
    }
    fd = make_dir (r->stack.ptr[r->stack.len - 1].fd, name);
    if (fd == -1) {
      set_error (errno, "%s", path);
      return 1;
    }
    if (push_frame (r, path, fd, NULL) == -1)
      return -1;
  }
  return 0;
}

/* Open the directory holding path (an archive path), from the target
 * down, never following a symlink. */
static int
open_parent_beneath (struct restore *r, const char *path, const char **leaf)
{
  const char *p = path, *slash;
  int fd = dup (r->stack.ptr[0].fd);

  while (fd >= 0 && (slash = strchr (p, '/')) != NULL) {
    CLEANUP_FREE char *comp = strndup (p, slash - p);
    int next = comp
      ? openat (fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      : -1;
    close (fd);
    fd = next;
    p = slash + 1;
  }
  *leaf = p;
  return fd;
}

static int
write_data (struct restore *r, int fd, const struct file_entry *e)
{
  uint64_t soff = e->data_offset;

  for (size_t i = 0; i < e->extents.len; i++) {
    const struct extent *x = &e->extents.ptr[i];
    uint64_t done = 0;

    while (done < x->length) {
      const unsigned char *p;
      size_t n;

      if (stream_reader_peek (&r->data, soff, &p, &n, x->length - done) == -1)
        return -1;
      if (write_full (fd, p, n, x->offset + done) == -1) {
        set_error (errno, "write");
        return 1;
      }
      soff += n;
      done += n;
      r->res->bytes += n;
    }
  }
  if (ftruncate (fd, e->size) == -1) {
    set_error (errno, "set size");
    return 1;
  }
  return 0;
}

/* A later name of a file restored earlier in this run becomes a link to
 * it; when its first name is not being restored, it gets the data. */
static bool
try_link (struct restore *r, int dirfd, const char *name,
          const struct file_entry *e)
{
  const char *leaf;
  int tfd, rc;

  if (!selected (r, e->target))
    return false;
  tfd = open_parent_beneath (r, e->target, &leaf);
  if (tfd == -1)
    return false;
  rc = linkat (tfd, leaf, dirfd, name, 0);
  close (tfd);
  return rc == 0;
}

static int
restore_regular (struct restore *r, int dirfd, const char *name,
                 struct file_entry *e)
{
  CLEANUP_CLOSE int fd = -1;
  int rc;

  if ((e->flags & ENTRY_HARDLINK) && try_link (r, dirfd, name, e))
    return 0;
  fd = openat (dirfd, name,
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd == -1) {
    entry_error (r, e->path, "create", errno);
    return 0;
  }
  rc = write_data (r, fd, e);
  if (rc == 1)
    entry_error (r, e->path, get_error (), 0);
  if (rc != 0)
    return rc == 1 ? 0 : -1;
  apply_meta (r, fd, -1, NULL, e);
  return 0;
}

static int
restore_entry (struct restore *r, struct file_entry *e)
{
  CLEANUP_FREE char *parent = strdup (e->path);
  char *slash = parent ? strrchr (parent, '/') : NULL;
  const char *name = slash ? slash + 1 : e->path;
  bool exists;
  int dirfd, rc;

  if (parent == NULL) {
    set_error (ENOMEM, "restore");
    return -1;
  }
  if (slash)
    *slash = '\0';
  else
    parent[0] = '\0';
  rc = enter_parent (r, parent);
  if (rc == 1) {
    entry_error (r, e->path, get_error (), 0);
    return 0;
  }
  if (rc == -1)
    return -1;
  dirfd = r->stack.ptr[r->stack.len - 1].fd;
  r->res->entries++;
  if (e->type == ENTRY_DIR) {
    int fd = make_dir (dirfd, name);
    if (fd == -1) {
      entry_error (r, e->path, "create directory", errno);
      return 0;
    }
    return push_frame (r, e->path, fd, e);
  }
  if (clear_name (dirfd, name, false, &exists) == -1) {
    entry_error (r, e->path, "replace what is there", errno);
    return 0;
  }
  switch (e->type) {
    case ENTRY_REG: return restore_regular (r, dirfd, name, e);
    case ENTRY_SYMLINK: rc = symlinkat (e->target, dirfd, name); break;
    case ENTRY_FIFO: rc = mkfifoat (dirfd, name, 0600); break;
    default: /* devices */
      rc = mknodat (dirfd, name,
                    (e->type == ENTRY_CHR ? S_IFCHR : S_IFBLK) | 0600,
                    makedev (e->rdev_major, e->rdev_minor));
      if (rc == -1 && errno == EPERM) {
        r->res->no_devices++;
        return 0;
      }
      break;
  }
  if (rc == -1) {
    entry_error (r, e->path, "create", errno);
    return 0;
  }
  apply_meta (r, -1, dirfd, name, e);
  return 0;
}

/* Undo the partial tree's open directories, applying what metadata we
 * have (a failed restore still leaves sane modes). */
static void
unwind (struct restore *r)
{
  while (r->stack.len > 0)
    pop_frame (r);
  frame_vector_reset (&r->stack);
}

int
files_restore (const struct files_restore_params *p,
               struct files_restore_result *res)
{
  const struct manifest_archive *a = &p->m->archive;
  struct restore r = { .p = p, .res = res };
  struct catalogue_reader cat;
  int fd, rc = -1, more;

  memset (res, 0, sizeof *res);
  if (!a->present) {
    set_error (0, "backup %s is not a file backup", p->m->id);
    return -1;
  }
  r.matched = calloc (p->npaths + 1, sizeof *r.matched);
  if (r.matched == NULL) {
    set_error (ENOMEM, "restore");
    return -1;
  }
  if (mkdir (p->to, 0700) == -1 && errno != EEXIST) {
    set_error (errno, "%s", p->to);
    free (r.matched);
    return -1;
  }
  fd = open (p->to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1) {
    set_error (errno, "%s", p->to);
    free (r.matched);
    return -1;
  }
  if (push_frame (&r, "", fd, NULL) == -1) {
    free (r.matched);
    return -1;
  }
  if (catalogue_reader_open (&cat, p->repo, a) == -1) {
    unwind (&r);
    free (r.matched);
    return -1;
  }
  if (stream_reader_open (&r.data, p->repo, "data", &a->data_map,
                          a->data_chunks, a->data_size)
      == -1)
    goto out;
  for (;;) {
    struct file_entry e = { 0 };

    more = catalogue_reader_next (&cat, &e);
    if (more <= 0) {
      rc = more;
      break;
    }
    if (needed (&r, e.path) && restore_entry (&r, &e) == -1) {
      file_entry_release (&e);
      break;
    }
    file_entry_release (&e);
  }
  for (size_t i = 0; rc == 0 && i < p->npaths; i++)
    if (!r.matched[i]) {
      res->unmatched = p->paths[i];
      break;
    }
out:
  unwind (&r);
  stream_reader_close (&r.data);
  catalogue_reader_close (&cat);
  free (r.matched);
  return rc;
}
