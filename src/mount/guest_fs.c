/* libguestfs over a backup's export (see guest_fs.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <guestfs.h>

#include "common/error.h"
#include "common/vector.h"
#include "guest_fs.h"

DEFINE_VECTOR_TYPE (entry_vector, struct guest_fs_entry);

struct guest_fs {
  guestfs_h *g;
  entry_vector entries;
};

static void
free_strings (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

/* libguestfs's last error as ours. */
static void
set_gfs_error (guestfs_h *g, const char *what)
{
  const char *e = guestfs_last_error (g);

  set_error (EIO, "%s: %s", what, e ? e : "failed");
}

/* What the user sees for an appliance device: /dev/sda3 -> vda3,
 * /dev/sda -> vda, /dev/vg0/root -> vg0-root. */
static char *
entry_name (const char *device, const char *disk_name)
{
  const char *p;
  char *s = NULL;

  if (strncmp (device, "/dev/sd", 7) == 0 && device[7] >= 'a'
      && device[7] <= 'z') {
    p = device + 8;
    if (asprintf (&s, "%s%s", disk_name, p) == -1)
      return NULL;
    return s;
  }
  p = strncmp (device, "/dev/", 5) == 0 ? device + 5 : device;
  s = strdup (p);
  for (char *c = s; c && *c; c++)
    if (*c == '/')
      *c = '-';
  return s;
}

static int
launch (guestfs_h *g)
{
  if (guestfs_launch (g) == 0)
    return 0;
  /* A host whose KVM fails under qemu (nested, some containers): TCG
   * works wherever qemu does. */
  if (getenv ("LIBGUESTFS_BACKEND_SETTINGS") == NULL) {
    guestfs_shutdown (g);
    char *settings[] = { (char *) "force_tcg", NULL };
    if (guestfs_set_backend_settings (g, settings) == 0
        && guestfs_launch (g) == 0)
      return 0;
  }
  set_gfs_error (g, "starting the libguestfs appliance");
  return -1;
}

/* Mount one file system read-only at /NAME in the appliance. */
static void
mount_entry (guestfs_h *g, struct guest_fs_entry *e)
{
  char where[256];

  if (strcmp (e->fstype, "unknown") == 0) {
    e->why = strdup ("no file system libguestfs knows");
    return;
  }
  if (strcmp (e->fstype, "swap") == 0 || strcmp (e->fstype, "crypto_LUKS") == 0
      || strcmp (e->fstype, "LVM2_member") == 0) {
    if (asprintf (&e->why, "%s holds no files to show", e->fstype) == -1)
      e->why = NULL;
    return;
  }
  snprintf (where, sizeof where, "/%s", e->name);
  if (guestfs_mkmountpoint (g, where) == -1
      || guestfs_mount_ro (g, e->device, where) == -1) {
    const char *err = guestfs_last_error (g);
    if (asprintf (&e->why, "%s could not be mounted: %s", e->fstype,
                  err ? err : "failed")
        == -1)
      e->why = NULL;
    return;
  }
  e->mounted = true;
}

struct guest_fs *
guest_fs_open (const char *socket, const char *disk_name, const char *tmpdir)
{
  struct guest_fs *gf = calloc (1, sizeof *gf);
  char *server[2] = { NULL, NULL };
  char **fs = NULL;

  if (gf == NULL) {
    set_error (ENOMEM, "guest file systems");
    return NULL;
  }
  gf->g = guestfs_create_flags (GUESTFS_CREATE_NO_ENVIRONMENT);
  if (gf->g == NULL) {
    set_error (errno, "libguestfs handle");
    free (gf);
    return NULL;
  }
  guestfs_set_error_handler (gf->g, NULL, NULL); /* we print, not it */
  /* Nothing is written (the drive is read-only), so closing need not
   * sync the appliance's disks: it is stopped at once. */
  if (guestfs_parse_environment (gf->g) == -1
      || guestfs_set_autosync (gf->g, 0) == -1
      || guestfs_set_tmpdir (gf->g, tmpdir) == -1
      || asprintf (&server[0], "unix:%s", socket) == -1) {
    set_gfs_error (gf->g, "libguestfs settings");
    goto fail;
  }
  if (guestfs_add_drive_opts (gf->g, "", GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw",
                              GUESTFS_ADD_DRIVE_OPTS_PROTOCOL, "nbd",
                              GUESTFS_ADD_DRIVE_OPTS_SERVER, server,
                              GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1)
      == -1) {
    set_gfs_error (gf->g, "adding the export to libguestfs");
    goto fail;
  }
  if (launch (gf->g) == -1)
    goto fail;
  fs = guestfs_list_filesystems (gf->g);
  if (fs == NULL) {
    set_gfs_error (gf->g, "listing the file systems");
    goto fail;
  }
  for (size_t i = 0; fs[i] && fs[i + 1]; i += 2) {
    struct guest_fs_entry e = {
      .name = entry_name (fs[i], disk_name),
      .device = strdup (fs[i]),
      .fstype = strdup (fs[i + 1]),
    };
    if (e.name == NULL || e.device == NULL || e.fstype == NULL
        || entry_vector_append (&gf->entries, e) == -1) {
      set_error (ENOMEM, "guest file systems");
      goto fail;
    }
    mount_entry (gf->g, &gf->entries.ptr[gf->entries.len - 1]);
  }
  free_strings (fs);
  free (server[0]);
  return gf;

fail:
  free_strings (fs);
  free (server[0]);
  guest_fs_close (gf);
  return NULL;
}

size_t
guest_fs_count (const struct guest_fs *g)
{
  return g->entries.len;
}

const struct guest_fs_entry *
guest_fs_entry (const struct guest_fs *g, size_t i)
{
  return &g->entries.ptr[i];
}

int
guest_fs_mount_local (struct guest_fs *gf, const char *dir)
{
  /* root's mount is for every user, the kernel checking the guest's
   * modes and owners (default_permissions); another user's would need
   * user_allow_other in /etc/fuse.conf for that, so it is only theirs. */
  const char *options = geteuid () == 0 ? "ro,allow_other,default_permissions"
                                        : "ro";

  if (guestfs_mount_local (gf->g, dir, GUESTFS_MOUNT_LOCAL_READONLY, 1,
                           GUESTFS_MOUNT_LOCAL_OPTIONS, options, -1)
      == -1) {
    set_gfs_error (gf->g, dir);
    return -1;
  }
  return 0;
}

int
guest_fs_serve (struct guest_fs *gf)
{
  if (guestfs_mount_local_run (gf->g) == -1) {
    set_gfs_error (gf->g, "serving the FUSE mount");
    return -1;
  }
  return 0;
}

void
guest_fs_close (struct guest_fs *gf)
{
  if (gf == NULL)
    return;
  for (size_t i = 0; i < gf->entries.len; i++) {
    free (gf->entries.ptr[i].name);
    free (gf->entries.ptr[i].device);
    free (gf->entries.ptr[i].fstype);
    free (gf->entries.ptr[i].why);
  }
  free (gf->entries.ptr);
  if (gf->g) {
    guestfs_shutdown (gf->g);
    guestfs_close (gf->g);
  }
  free (gf);
}
