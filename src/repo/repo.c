/* Creating and opening repositories: the backend registry picks where
 * the bytes go. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "repo.h"

char *
repo_tmpdir (const struct repo *repo)
{
  char *path = repo->be->ops->tmpdir (repo->be);

  if (path == NULL)
    set_error (ENOMEM, "temporary directory");
  return path;
}

int
repo_worker_open (struct repo *repo)
{
  return repo->be->ops->worker_open (repo->be);
}

int
repo_init (const char *path, uint32_t chunk_size)
{
  return backend_init (path, chunk_size);
}

struct repo *
repo_open (const char *path)
{
  struct repo *repo = calloc (1, sizeof *repo);

  if (repo == NULL || (repo->path = strdup (path)) == NULL) {
    free (repo);
    set_error (ENOMEM, "open %s", path);
    return NULL;
  }
  repo->be = backend_open (path);
  if (repo->be == NULL) {
    repo_close (repo);
    return NULL;
  }
  memcpy (repo->id, repo->be->id, sizeof repo->id);
  repo->chunk_size = repo->be->chunk_size;
  return repo;
}

void
repo_close (struct repo *repo)
{
  if (repo == NULL)
    return;
  backend_close (repo->be);
  free (repo->path);
  free (repo);
}
