/* Keeping a VM's boot files (see backup_boot.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "repo/backup_file.h"
#include "backup_boot.h"

static void *
keeper_main (void *opaque)
{
  struct boot_keeper *k = opaque;

  for (int i = 0; i < BOOT_KINDS; i++) {
    const char *path = k->paths[i];
    struct manifest_file *f = &k->files[i];
    struct stat st;

    if (path == NULL)
      continue;
    if (stat (path, &st) == -1) {
      k->missing[i] = errno;
      continue;
    }
    if (!S_ISREG (st.st_mode)) {
      k->missing[i] = -1;
      continue;
    }
    if (backup_file (k->store, k->level, path, &f->size, &f->index) == -1) {
      snprintf (k->error, sizeof k->error, "%s %s: %s", boot_kind_name[i],
                path, get_error ());
      k->ret = -1;
      break;
    }
    f->role = "boot";
    f->path = (char *) path;
  }
  return NULL;
}

int
boot_keeper_start (struct boot_keeper *k, struct store *store, int level,
                   char *const *paths)
{
  memset (k, 0, sizeof *k);
  k->store = store;
  k->level = level;
  k->paths = paths;
  if (pthread_create (&k->thread, NULL, keeper_main, k) != 0) {
    set_error (0, "cannot start a thread");
    return -1;
  }
  k->started = true;
  return 0;
}

int
boot_keeper_finish (struct boot_keeper *k)
{
  if (k->started) {
    pthread_join (k->thread, NULL);
    k->started = false;
  }
  if (k->ret == -1) {
    set_error (0, "%s", k->error);
    return -1;
  }
  return 0;
}
