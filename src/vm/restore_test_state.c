/* Restore-test state files and cleanup (see restore_test_state.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "virt/conn.h"
#include "restore_test_state.h"

/* mkdir -p, each new level mode 0711: qemu (another user) must reach
 * the disks inside; it lists nothing. */
static int
make_dirs (const char *path)
{
  char buf[PATH_MAX];
  size_t len = strlen (path);

  if (len >= sizeof buf) {
    set_error (ENAMETOOLONG, "%s", path);
    return -1;
  }
  memcpy (buf, path, len + 1);
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir (buf, 0711) == -1 && errno != EEXIST) {
        set_error (errno, "create %s", buf);
        return -1;
      }
      *p = c;
      if (c == '\0')
        break;
    }
  }
  return 0;
}

int
rt_state_begin (const char *state_dir, const char *original,
                struct rt_state *s)
{
  char path[PATH_MAX + 8], text[1024];
  const char *id;
  int n;

  s->fd = -1;
  s->dir[0] = s->vm[0] = s->network[0] = '\0';
  if (make_dirs (state_dir) == -1)
    return -1;
  n = snprintf (s->dir, sizeof s->dir, "%s/run-XXXXXX", state_dir);
  if (n < 0 || (size_t) n >= sizeof s->dir || mkdtemp (s->dir) == NULL) {
    set_error (errno, "create a directory in %s", state_dir);
    s->dir[0] = '\0';
    return -1;
  }
  chmod (s->dir, 0711);
  id = strrchr (s->dir, '-') + 1;
  snprintf (s->network, sizeof s->network, "rt-%s", id);
  snprintf (s->vm, sizeof s->vm, "rt-%s-%.48s", id, original);
  snprintf (path, sizeof path, "%s/state", s->dir);
  s->fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (s->fd == -1 || flock (s->fd, LOCK_EX) == -1) {
    set_error (errno, "create %s", path);
    return -1;
  }
  n = snprintf (text, sizeof text, "pid %d\nvm %s\nnetwork %s\n",
                (int) getpid (), s->vm, s->network);
  if (write_full (s->fd, text, n, 0) == -1 || fsync (s->fd) == -1) {
    set_error (errno, "write %s", path);
    return -1;
  }
  return 0;
}

static int
remove_entry (const char *path, const struct stat *st, int flag,
              struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (flag == FTW_DP ? rmdir (path) : unlink (path))
    return errno == ENOENT ? 0 : -1;
  return 0;
}

/* True when libvirt says the object is not there (so nothing to do). */
static bool
no_such (void)
{
  int code = virGetLastErrorCode ();

  return code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_NO_NETWORK;
}

static int
remove_vm (virConnectPtr conn, const char *name)
{
  virDomainPtr d;
  int r = 0;

  virResetLastError ();
  d = virDomainLookupByName (conn, name);
  if (d == NULL)
    return no_such () ? 0 : -1;
  if (virDomainIsActive (d) == 1 && virDomainDestroy (d) == -1)
    r = -1;
  if (r == 0 && virDomainIsPersistent (d) == 1) {
    unsigned flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
      | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
      | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM;
    /* Its TPM state too (under /var/lib/libvirt/swtpm/UUID/, outside the
     * run's directory), where libvirt knows how (8.9 and later). */
    if (virDomainUndefineFlags (d, flags | VIR_DOMAIN_UNDEFINE_TPM) == -1
        && virDomainUndefineFlags (d, flags) == -1)
      r = -1;
  }
  virDomainFree (d);
  return r;
}

static int
remove_network (virConnectPtr conn, const char *name)
{
  virNetworkPtr n;
  int r = 0;

  virResetLastError ();
  n = virNetworkLookupByName (conn, name);
  if (n == NULL)
    return no_such () ? 0 : -1;
  if (virNetworkIsActive (n) == 1 && virNetworkDestroy (n) == -1)
    r = -1;
  if (r == 0 && virNetworkIsPersistent (n) == 1
      && virNetworkUndefine (n) == -1)
    r = -1;
  virNetworkFree (n);
  return r;
}

int
rt_state_remove (virConnectPtr conn, struct rt_state *s)
{
  /* The VM first: the network cannot go while a NIC is on it. */
  if (s->vm[0] && remove_vm (conn, s->vm) == -1) {
    set_error (0, "remove VM %s: %s", s->vm, virt_error ());
    return -1;
  }
  if (s->network[0] && remove_network (conn, s->network) == -1) {
    set_error (0, "remove network %s: %s", s->network, virt_error ());
    return -1;
  }
  /* The state file goes last, with the directory: until then a later
   * run would still find what is left. */
  if (s->dir[0] && nftw (s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == -1
      && errno != ENOENT) {
    set_error (errno, "remove %s", s->dir);
    return -1;
  }
  if (s->fd >= 0)
    close (s->fd);
  s->fd = -1;
  return 0;
}

/* Read a dead run's state file: which VM and network it made. */
static void
read_state (int fd, struct rt_state *s)
{
  char text[1024], *line, *save = NULL;
  ssize_t n = pread (fd, text, sizeof text - 1, 0);

  text[n > 0 ? n : 0] = '\0';
  for (line = strtok_r (text, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    if (strncmp (line, "vm ", 3) == 0)
      snprintf (s->vm, sizeof s->vm, "%s", line + 3);
    else if (strncmp (line, "network ", 8) == 0)
      snprintf (s->network, sizeof s->network, "%s", line + 8);
  }
}

/* A name a run makes: rt- and letters, digits, '-', '_', '.'. */
static bool
ours (const char *name)
{
  if (strncmp (name, "rt-", 3) != 0)
    return false;
  return strspn (name,
                 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 "0123456789-_.+")
    == strlen (name);
}

int
rt_state_sweep (virConnectPtr conn, const char *state_dir,
                struct event_log *events, unsigned *removed)
{
  DIR *d = opendir (state_dir);
  struct dirent *e;
  int ret = 0;

  *removed = 0;
  if (d == NULL)
    return errno == ENOENT ? 0 : (set_error (errno, "open %s", state_dir), -1);
  while ((e = readdir (d)) != NULL) {
    struct rt_state s = { .fd = -1 };
    char path[PATH_MAX + 300];
    struct stat st;

    if (strncmp (e->d_name, "run-", 4) != 0)
      continue;
    snprintf (s.dir, sizeof s.dir, "%s/%s", state_dir, e->d_name);
    snprintf (path, sizeof path, "%s/state", s.dir);
    s.fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (s.fd == -1) {
      /* Killed between making the directory and writing the state:
       * nothing was made in libvirt.  A live run is that young only for
       * a moment. */
      if (lstat (s.dir, &st) == -1 || time (NULL) - st.st_mtime < 60)
        continue;
    }
    else if (flock (s.fd, LOCK_EX | LOCK_NB) == -1) {
      close (s.fd); /* a live run holds it */
      continue;
    }
    else
      read_state (s.fd, &s);
    if ((s.vm[0] && !ours (s.vm)) || (s.network[0] && !ours (s.network))) {
      event_emit (events, EV_RT_CLEANUP_FAILED,
                  "%s names %s and %s, not a restore test's: left alone", path,
                  s.vm, s.network);
      if (s.fd >= 0)
        close (s.fd);
      continue;
    }
    if (rt_state_remove (conn, &s) == -1) {
      event_emit (events, EV_RT_CLEANUP_FAILED,
                  "leftover of a dead restore test: %s", get_error ());
      if (s.fd >= 0)
        close (s.fd);
      ret = -1;
      continue;
    }
    event_emit (events, EV_RT_LEFTOVER_REMOVED,
                "a dead restore test's leftovers removed: VM %s, network "
                "%s, %s",
                s.vm[0] ? s.vm : "-", s.network[0] ? s.network : "-", s.dir);
    (*removed)++;
  }
  closedir (d);
  if (ret == -1)
    set_error (0,
               "leftovers of a dead restore test could not all be "
               "removed (see the events)");
  return ret;
}
