/* Tree walk (see walk.h).
 *
 * Excludes: a pattern with a "/" is matched (fnmatch, no flags, so "*"
 * also matches "/") against the whole absolute path; one without is
 * matched against the entry's name.  An excluded directory is not
 * entered.  Roots are never excluded. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/vector.h"
#include "walk.h"

DEFINE_VECTOR_TYPE (name_vector, char *);

/* Names of user and group IDs: a tree has few owners and many files,
 * and every getpwuid() may read /etc/passwd again. */
#define NAME_CACHE 64
struct id_name {
  uint32_t id;
  char *name;
};

struct walker {
  const struct walk_opts *o;
  const struct walk_ops *ops;
  dev_t root_dev;
  char *last; /* last path visited (relative) */
  struct id_name users[NAME_CACHE], groups[NAME_CACHE];
  size_t nusers, ngroups;
  char *xbuf; /* xattr scratch */
  size_t xcap;
};

static const char *
id_name (struct id_name *cache, size_t *n, uint32_t id, bool group)
{
  char buf[1024], *name = NULL;

  for (size_t i = 0; i < *n; i++)
    if (cache[i].id == id)
      return cache[i].name;
  if (group) {
    struct group g, *res = NULL;
    if (getgrgid_r (id, &g, buf, sizeof buf, &res) == 0 && res)
      name = strdup (g.gr_name);
  }
  else {
    struct passwd pw, *res = NULL;
    if (getpwuid_r (id, &pw, buf, sizeof buf, &res) == 0 && res)
      name = strdup (pw.pw_name);
  }
  if (name == NULL)
    name = strdup ("");
  if (name && strlen (name) > CATALOGUE_MAX_NAME)
    name[CATALOGUE_MAX_NAME] = '\0';
  if (*n == NAME_CACHE) {
    free (cache[NAME_CACHE - 1].name);
    (*n)--;
  }
  memmove (cache + 1, cache, *n * sizeof *cache);
  cache[0].id = id;
  cache[0].name = name;
  (*n)++;
  return name ? name : "";
}

/* Read every xattr (POSIX ACLs are the system.posix_acl_* ones). */
static int
read_xattrs (struct walker *w, const char *path, struct file_entry *e)
{
  ssize_t n;

  for (;;) {
    if (w->xcap == 0) {
      /* Most entries have none: one call with a buffer ready is the
       * common case. */
      w->xcap = 4096;
      if ((w->xbuf = malloc (w->xcap)) == NULL) {
        w->xcap = 0;
        return -1;
      }
    }
    n = llistxattr (path, w->xbuf, w->xcap);
    if (n >= 0)
      break;
    if (errno == ENOTSUP)
      return 0;
    if (errno != ERANGE)
      return -1;
    n = llistxattr (path, NULL, 0);
    if (n < 0)
      return -1;
    free (w->xbuf);
    w->xcap = n + 1024;
    if ((w->xbuf = malloc (w->xcap)) == NULL) {
      w->xcap = 0;
      return -1;
    }
  }
  for (ssize_t off = 0; off < n; off += strlen (w->xbuf + off) + 1) {
    const char *name = w->xbuf + off;
    struct xattr x = { 0 };
    ssize_t vl = lgetxattr (path, name, NULL, 0);

    if (vl < 0) {
      if (errno == ENODATA)
        continue; /* removed meanwhile */
      return -1;
    }
    if (vl > CATALOGUE_MAX_XATTR_VALUE || strlen (name) > CATALOGUE_MAX_NAME) {
      errno = E2BIG;
      return -1;
    }
    x.name = strdup (name);
    x.value = malloc (vl ? vl : 1);
    if (x.name == NULL || x.value == NULL
        || (vl = lgetxattr (path, name, x.value, vl)) < 0
        || xattr_vector_append (&e->xattrs, x) == -1) {
      int saved = errno;
      free (x.name);
      free (x.value);
      errno = saved;
      return -1;
    }
    e->xattrs.ptr[e->xattrs.len - 1].len = vl;
  }
  return 0;
}

static void
problem (struct walker *w, enum walk_problem what, const char *path, int err)
{
  w->ops->problem (w->ops->opaque, what, path, err);
}

/* Fill e from st; false when the entry is not backed up (socket, or its
 * symlink cannot be read). */
static bool
fill_entry (struct walker *w, int dirfd, const char *name, const char *path,
            const struct stat *st, struct file_entry *e)
{
  memset (e, 0, sizeof *e);
  switch (st->st_mode & S_IFMT) {
    case S_IFREG:
      e->type = ENTRY_REG;
      e->size = st->st_size;
      break;
    case S_IFDIR: e->type = ENTRY_DIR; break;
    case S_IFCHR: e->type = ENTRY_CHR; break;
    case S_IFBLK: e->type = ENTRY_BLK; break;
    case S_IFIFO: e->type = ENTRY_FIFO; break;
    case S_IFLNK:
      {
        char target[CATALOGUE_MAX_PATH + 1];
        ssize_t n = readlinkat (dirfd, name, target, sizeof target);
        if (n <= 0 || n > CATALOGUE_MAX_PATH) {
          problem (w, WALK_UNREADABLE, path, n < 0 ? errno : ENAMETOOLONG);
          return false;
        }
        e->type = ENTRY_SYMLINK;
        e->target = strndup (target, n);
        e->size = n;
        break;
      }
    case S_IFSOCK: problem (w, WALK_SOCKET, path, 0); return false;
    default: problem (w, WALK_UNREADABLE, path, EINVAL); return false;
  }
  e->mode = st->st_mode & 07777;
  e->uid = st->st_uid;
  e->gid = st->st_gid;
  e->mtime_sec = st->st_mtim.tv_sec;
  e->mtime_nsec = st->st_mtim.tv_nsec;
  e->atime_sec = st->st_atim.tv_sec;
  e->atime_nsec = st->st_atim.tv_nsec;
  e->ctime_sec = st->st_ctim.tv_sec;
  e->ctime_nsec = st->st_ctim.tv_nsec;
  e->inode = st->st_ino;
  if (e->type == ENTRY_CHR || e->type == ENTRY_BLK) {
    e->rdev_major = major (st->st_rdev);
    e->rdev_minor = minor (st->st_rdev);
  }
  e->user = strdup (id_name (w->users, &w->nusers, st->st_uid, false));
  e->group = strdup (id_name (w->groups, &w->ngroups, st->st_gid, true));
  e->path = strdup (path + 1);
  if (read_xattrs (w, path, e) == -1) {
    problem (w, WALK_NO_XATTRS, path, errno);
    for (size_t i = 0; i < e->xattrs.len; i++) {
      free (e->xattrs.ptr[i].name);
      free (e->xattrs.ptr[i].value);
    }
    e->xattrs.len = 0;
  }
  return true;
}

static bool
excluded (const struct walk_opts *o, const char *path, const char *name)
{
  for (size_t i = 0; i < o->nexcludes; i++) {
    const char *pat = o->excludes[i];
    if (fnmatch (pat, strchr (pat, '/') ? path : name, 0) == 0)
      return true;
  }
  return false;
}

static int
cmp_names (const void *a, const void *b)
{
  /* Skip the d_type byte in front (see walk_dir). */
  return strcmp (*(char *const *) a + 1, *(char *const *) b + 1);
}

static int walk_dir (struct walker *w, int dirfd, const char *path);

/* Visit one entry and, for a directory, what it holds.  descend is
 * false for a root's ancestors. */
static int
visit (struct walker *w, int dirfd, const char *name, const char *path,
       bool descend)
{
  struct file_entry e;
  struct stat st;
  struct walk_item it;
  int r;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
    problem (w, errno == ENOENT ? WALK_VANISHED : WALK_UNREADABLE, path,
             errno);
    return 0;
  }
  if (!fill_entry (w, dirfd, name, path, &st, &e))
    return 0;
  if (e.path == NULL || e.user == NULL || e.group == NULL
      || (e.type == ENTRY_SYMLINK && e.target == NULL)) {
    file_entry_release (&e);
    set_error (ENOMEM, "walk");
    return -1;
  }
  it = (struct walk_item) {
    .e = &e, .st = &st, .dirfd = dirfd, .name = name, .abspath = path
  };
  r = w->ops->visit (w->ops->opaque, &it);
  file_entry_release (&e);
  if (r == -1)
    return -1;
  free (w->last);
  if ((w->last = strdup (path + 1)) == NULL) {
    set_error (ENOMEM, "walk");
    return -1;
  }
  if (!S_ISDIR (st.st_mode) || !descend)
    return 0;
  if (w->o->one_file_system && st.st_dev != w->root_dev) {
    problem (w, WALK_OTHER_FS, path, 0);
    return 0;
  }
  {
    CLEANUP_CLOSE int fd = openat (dirfd, name,
                                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                     | O_CLOEXEC);
    if (fd == -1) {
      problem (w, errno == ENOENT ? WALK_VANISHED : WALK_UNREADABLE, path,
               errno);
      return 0;
    }
    return walk_dir (w, fd, path);
  }
}

/* Reading many small files from a cold cache is bound by the latency of
 * each read, one at a time.  So the walk asks the kernel to start
 * reading the next few regular files of a directory (their first
 * PREFETCH_BYTES) while it works on the current one.  Only regular files
 * are opened (d_type from readdir): opening a device or FIFO can have
 * effects.  Reading ahead changes no file times.  Only when the walk
 * asks for it (walk_opts.prefetch): reading files a backup then skips as
 * unchanged would cost more than it saves. */
#define PREFETCH_FILES 32
#define PREFETCH_BYTES (1 << 20)

static void
prefetch (int dirfd, const char *name, char type)
{
  int fd;

  if (type != DT_REG + 1)
    return;
  fd = openat (dirfd, name,
               O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd >= 0) {
    posix_fadvise (fd, 0, PREFETCH_BYTES, POSIX_FADV_WILLNEED);
    close (fd);
  }
}

static int
walk_dir (struct walker *w, int dirfd, const char *path)
{
  name_vector names = empty_vector;
  DIR *d;
  struct dirent *de;
  int dupfd = dup (dirfd), r = 0;

  if (dupfd == -1 || (d = fdopendir (dupfd)) == NULL) {
    if (dupfd >= 0)
      close (dupfd);
    problem (w, WALK_UNREADABLE, path, errno);
    return 0;
  }
  while ((errno = 0, de = readdir (d)) != NULL) {
    char *n;
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    /* d_type + 1 (never a NUL) rides in front of the name, for
     * prefetch (). */
    if (asprintf (&n, "%c%s", de->d_type + 1, de->d_name) == -1)
      n = NULL;
    if (n == NULL || name_vector_append (&names, n) == -1) {
      free (n);
      set_error (ENOMEM, "walk %s", path);
      r = -1;
      break;
    }
  }
  if (r == 0 && errno != 0)
    problem (w, WALK_UNREADABLE, path, errno);
  closedir (d);
  if (names.len)
    qsort (names.ptr, names.len, sizeof names.ptr[0], cmp_names);
  for (size_t i = 0; w->o->prefetch && i < names.len && i < PREFETCH_FILES;
       i++)
    prefetch (dirfd, names.ptr[i] + 1, names.ptr[i][0]);
  for (size_t i = 0; r == 0 && i < names.len; i++) {
    CLEANUP_FREE char *child = NULL;
    bool root = strcmp (path, "/") == 0;
    const char *name = names.ptr[i] + 1;

    if (w->o->prefetch && i + PREFETCH_FILES < names.len)
      prefetch (dirfd, names.ptr[i + PREFETCH_FILES] + 1,
                names.ptr[i + PREFETCH_FILES][0]);
    if (asprintf (&child, "%s/%s", root ? "" : path, name) == -1) {
      child = NULL;
      set_error (ENOMEM, "walk %s", path);
      r = -1;
      break;
    }
    if (excluded (w->o, child, name))
      continue;
    r = visit (w, dirfd, name, child, true);
  }
  for (size_t i = 0; i < names.len; i++)
    free (names.ptr[i]);
  name_vector_reset (&names);
  return r;
}

static int
cmp_roots (const void *a, const void *b)
{
  return catalogue_path_cmp (*(char *const *) a, *(char *const *) b);
}

/* Visit the ancestors of root that are not visited yet (their metadata),
 * then root and its tree. */
static int
walk_root (struct walker *w, const char *root)
{
  CLEANUP_FREE char *copy = strdup (root);
  CLEANUP_CLOSE int pfd = -1;
  struct stat st;
  char *slash;

  if (copy == NULL) {
    set_error (ENOMEM, "walk");
    return -1;
  }
  if (strcmp (root, "/") == 0) {
    CLEANUP_CLOSE int fd = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1 || fstat (fd, &st) == -1) {
      set_error (errno, "/");
      return -1;
    }
    w->root_dev = st.st_dev;
    return walk_dir (w, fd, "/");
  }
  if (lstat (root, &st) == -1) {
    set_error (errno, "%s", root);
    return -1;
  }
  w->root_dev = st.st_dev;
  for (slash = strchr (copy + 1, '/'); slash;
       slash = strchr (slash + 1, '/')) {
    *slash = '\0';
    if (w->last == NULL || catalogue_path_cmp (copy + 1, w->last) > 0) {
      const char *base = strrchr (copy, '/');
      CLEANUP_FREE char *dir = strndup (copy, base - copy);
      CLEANUP_CLOSE int fd = -1;
      if (dir == NULL) {
        set_error (ENOMEM, "walk");
        return -1;
      }
      fd = open (dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd == -1) {
        set_error (errno, "%s", dir[0] ? dir : "/");
        return -1;
      }
      if (visit (w, fd, base + 1, copy, false) == -1)
        return -1;
    }
    *slash = '/';
  }
  slash = strrchr (copy, '/');
  *slash = '\0';
  pfd = open (copy[0] ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd == -1) {
    set_error (errno, "%s", copy[0] ? copy : "/");
    return -1;
  }
  return visit (w, pfd, slash + 1, root, true);
}

int
walk_roots (const struct walk_opts *o, char *const *roots, size_t nroots,
            const struct walk_ops *ops)
{
  struct walker w = { .o = o, .ops = ops };
  char **sorted = calloc (nroots ? nroots : 1, sizeof *sorted);
  size_t n = 0;
  int r = 0;

  if (sorted == NULL) {
    set_error (ENOMEM, "walk");
    return -1;
  }
  for (size_t i = 0; i < nroots; i++) {
    sorted[n] = realpath (roots[i], NULL);
    if (sorted[n] == NULL) {
      set_error (errno, "%s", roots[i]);
      r = -1;
      goto out;
    }
    n++;
  }
  qsort (sorted, n, sizeof *sorted, cmp_roots);
  for (size_t i = 0; r == 0 && i < n; i++) {
    /* A root inside the previous one (or the same) is already covered. */
    size_t k = 0;
    bool inside = false;
    for (k = 0; k < i; k++) {
      size_t l = strlen (sorted[k]);
      if (strcmp (sorted[k], "/") == 0
          || (strncmp (sorted[i], sorted[k], l) == 0
              && (sorted[i][l] == '\0' || sorted[i][l] == '/')))
        inside = true;
    }
    if (!inside)
      r = walk_root (&w, sorted[i]);
  }
out:
  for (size_t i = 0; i < n; i++)
    free (sorted[i]);
  free (sorted);
  free (w.last);
  free (w.xbuf);
  for (size_t i = 0; i < w.nusers; i++)
    free (w.users[i].name);
  for (size_t i = 0; i < w.ngroups; i++)
    free (w.groups[i].name);
  return r;
}
