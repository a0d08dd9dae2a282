/* Backing up a standalone disk image (image.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "common/units.h"
#include "engine/backup_disk.h"
#include "nbd/server.h"
#include "repo/store.h"
#include "image.h"

/* Open r on the index of the image's previous backup (its latest under
 * the same name), for a repository that needs no question about the
 * chunks it names (backup_disk.h: named).  Read after store_begin, so
 * that what it names stays for the session.  None (r->fd stays -1) is
 * not an error: every chunk is then asked about. */
static void
open_previous (struct repo *repo, const char *name, struct index_reader *r)
{
  struct manifest *prev = manifest_resolve (repo, name);

  /* index_reader_open leaves r->fd at -1 when it fails. */
  if (prev && strcmp (prev->kind, "image") == 0 && prev->disks.len == 1)
    (void) index_reader_open (r, repo, &prev->disks.ptr[0].index);
  manifest_free (prev);
}

/* Read one image into m (whose ID is reserved); returns 0 or -1 with
 * the error set. */
static int
read_image (struct repo *repo, const struct image_arg *img, int level,
            const struct vm_report *report, struct manifest *m,
            struct manifest_disk *disk, struct backup_disk_result *res,
            char *abspath)
{
  const char *format;
  struct nbd_server srv;
  struct nbd_handle *nbd;
  struct store store;
  struct index_reader named = { .fd = -1 };
  uint64_t true_size = 0;
  struct stat st;
  int r = -1;

  if (image_detect_format (img->path, &format) == -1)
    return -1;
  /* qemu-nbd rounds a raw file's size up to 512 bytes; the backup must
   * hold exactly the file. */
  if (strcmp (format, "raw") == 0 && stat (img->path, &st) == 0
      && S_ISREG (st.st_mode))
    true_size = st.st_size;
  if (nbd_server_start (&srv, img->path, format, true, 1) == -1)
    return -1;
  nbd = nbd_server_connect (&srv, true, NULL);
  if (nbd == NULL)
    goto out_srv;
  if (store_begin (&store, repo) == -1)
    goto out_store;
  vm_report_progress_begin (report, img->name);
  if (store_keeps_named (&store))
    open_previous (repo, img->name, &named);
  struct backup_disk_params p = {
    .repo = repo,
    .store = &store,
    .nbd = nbd,
    .name = img->name,
    .size = true_size,
    .compression_level = level,
    .named = named.fd >= 0 ? &named : NULL,
    .progress = vm_report_progress,
    .progress_opaque = (void *) report,
  };
  r = backup_disk (&p, res);
  vm_report_progress_end (report);
  if (r == 0) {
    disk->name = img->name;
    disk->format = (char *) format;
    disk->source = abspath;
    disk->size = res->size;
    disk->index = res->index;
    disk->stored_new = res->stored_new;
    m->disks.ptr = disk;
    m->disks.len = m->disks.cap = 1;
    m->finished = time (NULL);
    r = manifest_commit (repo, m);
  }
out_store:
  index_reader_close (&named);
  store_end (&store);
  nbd_shutdown (nbd, 0);
  nbd_close (nbd);
out_srv:
  nbd_server_stop (&srv);
  return r;
}

int
backup_image (struct repo *repo, const struct image_arg *img, int level,
              struct event_log *events, const struct vm_report *report,
              struct image_result *out)
{
  struct manifest m = {
    .name = img->name,
    .kind = "image",
    .time = time (NULL),
    .chunk_size = repo->chunk_size,
    /* An image file read through a read-only qemu-nbd is not in use by
     * a running guest: the same guarantee as a shut-off VM. */
    .consistency = "offline",
  };
  struct manifest_disk disk = { 0 };
  struct backup_disk_result res;
  char abspath[PATH_MAX];
  double t0 = now_monotonic ();
  int r;

  if (realpath (img->path, abspath) == NULL)
    snprintf (abspath, sizeof abspath, "%s", img->path);
  if (manifest_reserve (repo, &m) == -1)
    return -1;
  event_log_reset (events, img->name, m.id);
  event_emit (events, EV_BACKUP_STARTED, "backup of image %s", abspath);
  r = read_image (repo, img, level, report, &m, &disk, &res, abspath);
  if (r == 0) {
    event_emit (events, EV_BACKUP_FINISHED,
                "backup finished: %llu bytes "
                "read, %llu new",
                (unsigned long long) res.bytes_read,
                (unsigned long long) res.stored_new);
    snprintf (out->id, sizeof out->id, "%s", m.id);
    out->size = res.size;
    out->bytes_read = res.bytes_read;
    out->stored_new = res.stored_new;
    out->seconds = now_monotonic () - t0;
  }
  else {
    char saved[1024];
    snprintf (saved, sizeof saved, "%s", get_error ());
    event_emit (events, EV_BACKUP_FAILED, "%s", saved);
    manifest_unreserve (repo, &m);
    set_error (0, "%s", saved);
  }
  free (m.id);
  return r;
}
