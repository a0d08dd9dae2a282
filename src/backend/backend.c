/* The backend registry: which backend serves a location.  Adding a
 * backend is one line in the table (before local, which takes every
 * location the others do not). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "backend.h"
#include "local/local.h"
#include "s3/s3.h"
#include "ssh/ssh.h"

static const struct backend_ops *const backends[] = {
  &backend_ssh,
  &backend_s3,
  &backend_local,
};

static const struct backend_ops *
backend_for (const char *location)
{
  size_t n = sizeof backends / sizeof backends[0];

  for (size_t i = 0; i < n - 1; i++)
    if (backends[i]->handles (location))
      return backends[i];
  return backends[n - 1];
}

int
backend_init (const char *location, const struct backend_new *nc)
{
  return backend_for (location)->init (location, nc);
}

struct backend *
backend_open (const char *location)
{
  struct backend *be = calloc (1, sizeof *be);

  if (be == NULL || (be->location = strdup (location)) == NULL) {
    free (be);
    set_error (ENOMEM, "open %s", location);
    return NULL;
  }
  be->ops = backend_for (location);
  if (be->ops->open (be, location) == -1) {
    free (be->location);
    free (be);
    return NULL;
  }
  return be;
}

void
backend_close (struct backend *be)
{
  if (be == NULL)
    return;
  be->ops->close (be);
  free (be->location);
  free (be);
}
