/* Storage pool volumes to paths (see volumes.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "volumes.h"

/* Where a volume of a running directory pool would be: its target
 * path and the volume's name (malloc'd), or NULL.  A rebuilt host has
 * the pool back (restore --host) but not its volumes; a restore puts
 * the file there and refreshes the pool (volumes_refresh). */
static char *
dir_pool_volume_path (virStoragePoolPtr pool, const char *volume)
{
  char *xml, *p, *end, *path = NULL;

  if (virStoragePoolIsActive (pool) != 1 || strchr (volume, '/') != NULL
      || strcmp (volume, "..") == 0 || strcmp (volume, ".") == 0)
    return NULL;
  xml = virStoragePoolGetXMLDesc (pool, 0);
  if (xml && strstr (xml, "<pool type='dir'>")
      && (p = strstr (xml, "<target>")) && (p = strstr (p, "<path>"))
      && (end = strstr (p, "</path>"))) {
    p += strlen ("<path>");
    if (asprintf (&path, "%.*s/%s", (int) (end - p), p, volume) == -1)
      path = NULL;
  }
  free (xml);
  return path;
}

/* The path of POOL/VOLUME (malloc'd), or NULL. */
static char *
volume_path (virConnectPtr conn, const char *source, bool missing_ok)
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
  else if (missing_ok)
    path = dir_pool_volume_path (pool, slash + 1);
  virStoragePoolFree (pool);
  return path;
}

void
volumes_resolve (virConnectPtr conn, struct domain_info *info, bool missing_ok)
{
  for (size_t i = 0; i < info->disks.len; i++) {
    struct vm_disk *d = &info->disks.ptr[i];
    struct stat st;
    char *path, *type;

    if (!d->included || strcmp (d->type, "volume") != 0)
      continue;
    path = volume_path (conn, d->source, missing_ok);
    if (path == NULL || (stat (path, &st) == -1 && !missing_ok)) {
      free (path);
      continue;
    }
    if (stat (path, &st) == -1)
      st.st_mode = S_IFREG; /* to be written: a file in a directory pool */
    type = strdup (S_ISBLK (st.st_mode) ? "block" : "file");
    if (type == NULL) {
      free (path);
      continue;
    }
    free (d->type);
    d->volume = d->source;
    d->source = path;
    d->type = type;
    d->from_volume = true;
  }
}

void
volumes_refresh (virConnectPtr conn, const struct domain_info *info)
{
  for (size_t i = 0; i < info->disks.len; i++) {
    const struct vm_disk *d = &info->disks.ptr[i];
    virStoragePoolPtr pool;
    char *name;

    if (!d->from_volume || d->volume == NULL
        || (name = strndup (d->volume, strcspn (d->volume, "/"))) == NULL)
      continue;
    pool = virStoragePoolLookupByName (conn, name);
    free (name);
    if (pool) {
      virStoragePoolRefresh (pool, 0);
      virStoragePoolFree (pool);
    }
  }
}
