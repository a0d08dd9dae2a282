/* Creating and opening repositories. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "remote_ops.h"
#include "repo.h"

#define CONFIG_MAX 4096

static const char *subdirs[] = { "chunks", "indexes", "backups", "locks",
                                 "locks/writers", "tmp" };

char *
repo_path (const struct repo *repo, const char *fmt, ...)
{
  va_list ap;
  char *rel, *full;

  va_start (ap, fmt);
  if (vasprintf (&rel, fmt, ap) == -1)
    rel = NULL;
  va_end (ap);
  if (rel == NULL)
    return NULL;
  if (asprintf (&full, "%s/%s", repo->path, rel) == -1)
    full = NULL;
  free (rel);
  return full;
}

char *
repo_tmpdir (const struct repo *repo)
{
  const char *dir;
  char *path;

  if (repo->remote == NULL)
    path = repo_path (repo, "tmp");
  else {
    dir = getenv ("TMPDIR");
    path = strdup (dir && dir[0] ? dir : "/var/tmp");
  }
  if (path == NULL)
    set_error (ENOMEM, "temporary directory");
  return path;
}

static int
dir_is_empty (const char *path)
{
  DIR *d = opendir (path);
  struct dirent *e;
  int empty = 1;

  if (d == NULL)
    return errno == ENOENT ? 1 : -1;
  while ((e = readdir (d)) != NULL) {
    if (strcmp (e->d_name, ".") && strcmp (e->d_name, "..")) {
      empty = 0;
      break;
    }
  }
  closedir (d);
  return empty;
}

int
repo_init (const char *path, uint32_t chunk_size)
{
  unsigned char rnd[16];
  char id[33], sub[4096], config[256];
  int empty;

  if (chunk_size < REPO_MIN_CHUNK || chunk_size > REPO_MAX_CHUNK
      || (chunk_size & (chunk_size - 1))) {
    set_error (0, "chunk size %u is not a power of two from 64 KiB to 16 MiB",
               chunk_size);
    return -1;
  }
  empty = dir_is_empty (path);
  if (empty == -1) {
    set_error (errno, "%s", path);
    return -1;
  }
  if (!empty) {
    set_error (0, "%s: directory is not empty", path);
    return -1;
  }
  if (mkdir_if_missing (path, 0700) == -1)
    return -1;
  for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
    snprintf (sub, sizeof sub, "%s/%s", path, subdirs[i]);
    if (mkdir_if_missing (sub, 0700) == -1)
      return -1;
  }
  for (int p = 0; p < 256; p++) {
    snprintf (sub, sizeof sub, "%s/chunks/%02x", path, p);
    if (mkdir_if_missing (sub, 0700) == -1)
      return -1;
  }
  if (getrandom (rnd, sizeof rnd, 0) != sizeof rnd) {
    set_error (errno, "getrandom");
    return -1;
  }
  for (int i = 0; i < 16; i++)
    sprintf (id + 2 * i, "%02x", rnd[i]);
  snprintf (config, sizeof config,
            "vmbackup-repository %d\nid %s\nchunk-size %u\n",
            REPO_FORMAT_VERSION, id, chunk_size);
  /* config is written last: a directory without it is not a repository,
   * so an interrupted init never passes for a working one. */
  snprintf (sub, sizeof sub, "%s/config", path);
  return write_file_atomic (sub, config, strlen (config));
}

static int
parse_config (struct repo *repo, const char *text)
{
  int version;
  unsigned long chunk;
  char id[64];

  if (sscanf (text, "vmbackup-repository %d\nid %63s\nchunk-size %lu\n",
              &version, id, &chunk) != 3) {
    set_error (0, "%s/config: not a vmbackup repository configuration",
               repo->path);
    return -1;
  }
  if (version != REPO_FORMAT_VERSION) {
    set_error (0, "%s: repository format %d is not supported (this vmbackup "
               "reads format %d)", repo->path, version, REPO_FORMAT_VERSION);
    return -1;
  }
  if (strlen (id) != 32 || chunk < REPO_MIN_CHUNK || chunk > REPO_MAX_CHUNK
      || (chunk & (chunk - 1))) {
    set_error (0, "%s/config: invalid id or chunk size", repo->path);
    return -1;
  }
  memcpy (repo->id, id, 33);
  repo->chunk_size = chunk;
  return 0;
}

struct repo *
repo_open (const char *path)
{
  struct repo *repo = calloc (1, sizeof *repo);
  CLEANUP_FREE char *config = NULL, *cfgpath = NULL;
  size_t len;

  if (repo == NULL) {
    set_error (errno, "calloc");
    return NULL;
  }
  repo->dirfd = -1;
  repo->path = strdup (path);
  if (repo->path == NULL)
    goto fail;
  cfgpath = repo_path (repo, "config");
  if (access (cfgpath, F_OK) == -1) {
    set_error (0, "%s: not a vmbackup repository (run 'vmbackup init' first)",
               path);
    goto fail;
  }
  if (read_file (cfgpath, CONFIG_MAX, &config, &len) == -1
      || parse_config (repo, config) == -1)
    goto fail;
  repo->dirfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (repo->dirfd == -1) {
    set_error (errno, "open %s", path);
    goto fail;
  }
  return repo;

 fail:
  repo_close (repo);
  return NULL;
}

void
repo_close (struct repo *repo)
{
  if (repo == NULL)
    return;
  if (repo->remote)
    repo->remote->close (repo);
  if (repo->dirfd >= 0)
    close (repo->dirfd);
  free (repo->path);
  free (repo);
}
