/* Storage pool volumes to paths (see volumes.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "volumes.h"

/* The path of POOL/VOLUME (malloc'd), or NULL. */
static char *
volume_path (virConnectPtr conn, const char *source)
{
  const char *slash = strchr (source, '/');
  char *pool_name, *path = NULL;
  virStoragePoolPtr pool;
  virStorageVolPtr vol;

  if (slash == NULL || (pool_name = strndup (source, slash - source)) == NULL)
    return NULL;
  pool = virStoragePoolLookupByName (conn, pool_name);
  free (pool_name);
  if (pool == NULL)
    return NULL;
  vol = virStorageVolLookupByName (pool, slash + 1);
  if (vol) {
    path = virStorageVolGetPath (vol);
    virStorageVolFree (vol);
  }
  virStoragePoolFree (pool);
  return path;
}

void
volumes_resolve (virConnectPtr conn, struct domain_info *info)
{
  for (size_t i = 0; i < info->disks.len; i++) {
    struct vm_disk *d = &info->disks.ptr[i];
    struct stat st;
    char *path, *type;

    if (!d->included || strcmp (d->type, "volume") != 0)
      continue;
    path = volume_path (conn, d->source);
    if (path == NULL || stat (path, &st) == -1) {
      free (path);
      continue;
    }
    type = strdup (S_ISBLK (st.st_mode) ? "block" : "file");
    if (type == NULL) {
      free (path);
      continue;
    }
    free (d->source);
    free (d->type);
    d->source = path;
    d->type = type;
    d->from_volume = true;
  }
}
