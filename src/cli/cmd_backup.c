/* vmbackup backup --image NAME=PATH: back up standalone disk images. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/error.h"
#include "common/events.h"
#include "common/units.h"
#include "engine/backup_disk.h"
#include "nbd/server.h"
#include "repo/manifest.h"
#include "repo/store.h"
#include "virt/conn.h"
#include "backup_vm.h"
#include "cli.h"
#include "parse_options.h"

/* zstd level 1 for disks, as Proxmox Backup Server has it: a VM backup
 * is bound by the CPU (hashing and compressing every byte read) and has
 * a window to fit in.  Level 3 stores 4% less of text and 10% less of
 * binaries after compression, at 50-60% of the speed (docs/vmbackup.pod,
 * --compression).  File backups keep level 3 (cmd_files.c). */
#define DEFAULT_LEVEL 1

struct image_arg {
  char *name;
  const char *path;
};

/* Read one image into m (whose ID is reserved); returns 0 or -1 with
 * the error set. */
static int
read_image (struct repo *repo, const struct image_arg *img, int level,
            struct manifest *m, struct manifest_disk *disk,
            struct backup_disk_result *res, char *abspath)
{
  const char *format;
  struct nbd_server srv;
  struct nbd_handle *nbd;
  struct store store;
  struct progress prog;
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
  nbd = nbd_open_unix (srv.sock, true);
  if (nbd == NULL)
    goto out_srv;
  if (store_begin (&store, repo) == -1)
    goto out_store;
  progress_init (&prog, img->name);
  struct backup_disk_params p = {
    .repo = repo, .store = &store, .nbd = nbd, .name = img->name,
    .size = true_size, .compression_level = level,
    .progress = progress_update, .progress_opaque = &prog,
  };
  r = backup_disk (&p, res);
  progress_finish (&prog);
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
  store_end (&store);
  nbd_shutdown (nbd, 0);
  nbd_close (nbd);
 out_srv:
  nbd_server_stop (&srv);
  return r;
}

/* One image into one backup, with its events; returns 0 or -1 with the
 * error set. */
static int
backup_image (struct repo *repo, const struct image_arg *img, int level,
              struct event_log *events)
{
  struct manifest m = {
    .name = img->name, .kind = "image", .time = time (NULL),
    .chunk_size = repo->chunk_size,
    /* An image file read through a read-only qemu-nbd is not in use by
     * a running guest: the same guarantee as a shut-off VM. */
    .consistency = "offline",
  };
  struct manifest_disk disk = { 0 };
  struct backup_disk_result res;
  char abspath[PATH_MAX], sz[32], rd[32], nw[32];
  double t0 = now_monotonic ();
  int r;

  if (realpath (img->path, abspath) == NULL)
    snprintf (abspath, sizeof abspath, "%s", img->path);
  if (manifest_reserve (repo, &m) == -1)
    return -1;
  event_log_reset (events, img->name, m.id);
  event_emit (events, EV_BACKUP_STARTED, "backup of image %s", abspath);
  r = read_image (repo, img, level, &m, &disk, &res, abspath);
  if (r == 0) {
    event_emit (events, EV_BACKUP_FINISHED, "backup finished: %llu bytes "
                "read, %llu new", (unsigned long long) res.bytes_read,
                (unsigned long long) res.stored_new);
    printf ("backup %s: %s, %s read, %s new, %.1f s\n", m.id,
            format_size (res.size, sz, sizeof sz),
            format_size (res.bytes_read, rd, sizeof rd),
            format_size (res.stored_new, nw, sizeof nw),
            now_monotonic () - t0);
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

/* --image NAME=PATH into images[*nimages]: PARSE_GO_ON or EXIT_USAGE. */
static int
add_image (char *arg, struct image_arg *images, size_t *nimages)
{
  char *eq = strchr (arg, '=');

  if (eq == NULL || eq == arg || eq[1] == '\0')
    return cli_usage_error ("backup", "--image wants NAME=PATH, got '%s'",
                            arg);
  *eq = '\0';
  if (!name_is_valid (arg))
    return cli_usage_error ("backup", "bad backup name '%s' (letters, "
                            "digits, '.', '_', '-'; at most 64)", arg);
  for (size_t i = 0; i < *nimages; i++)
    if (strcmp (images[i].name, arg) == 0)
      return cli_usage_error ("backup", "name '%s' given twice", arg);
  images[*nimages].name = arg;
  images[(*nimages)++].path = eq + 1;
  return PARSE_GO_ON;
}

int
cmd_backup (int argc, char **argv)
{
  struct image_arg images[256];
  const char *image_specs[256];
  struct opt_strings specs = OPT_STRINGS_INIT (image_specs);
  size_t nimages = 0, failed = 0;
  const char *repo_opt = NULL;
  int level = DEFAULT_LEVEL, c;
  struct repo *repo;
  struct backup_vm_opts vmo = { .uri = global_uri, .consistency = "auto",
                                .downtime_warn_ms = 1000 };
  struct event_log events;
  size_t nvms;
  const struct opt opts[] = {
    OPT_STRING_LIST (0, "image", &specs, "NAME=PATH", "back up the disk "
                     "image file PATH (raw or qcow2) as backup NAME; "
                     "repeatable"),
    OPT_CHOICE (0, "consistency", &vmo.consistency,
                "auto|application|crash|offline",
                "how VMs are read (default auto; see above)"),
    OPT_INT (0, "compression", &level, "N", 1, 19, "compression level",
             "zstd level, 1-19 (default 1)"),
    OPT_INT (0, "downtime-warn", &vmo.downtime_warn_ms, "MS", 0, 3600000,
             NULL, "event 1031 when an offline backup suspends a VM "
             "longer (default 1000)"),
    OPT_CONNECT (&vmo.uri),
    OPT_REPO (&repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((c = parse_options ("backup", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  for (size_t i = 0; i < specs.len; i++)
    if ((c = add_image ((char *) specs.v[i], images, &nimages)) != PARSE_GO_ON)
      return c;
  nvms = argc - optind;
  if (nimages == 0 && nvms == 0)
    return cli_usage_error ("backup", "nothing to back up (name VMs or use "
                            "--image)");
  vmo.level = level;
  if (cli_open_events (&events) == -1)
    return EXIT_FAIL;
  vmo.events = &events;
  repo = cli_open_repo (repo_opt);
  if (repo == NULL) {
    event_log_close (&events);
    return EXIT_FAIL;
  }
  for (size_t i = 0; i < nimages; i++) {
    if (backup_image (repo, &images[i], level, &events) == -1) {
      cli_error ("backup %s: %s", images[i].name, get_error ());
      failed++;
    }
  }
  if (nvms) {
    virConnectPtr conn = virt_connect (vmo.uri);
    if (conn == NULL) {
      cli_error ("%s", get_error ());
      failed += nvms;
    }
    /* Each VM is independent: one failing does not stop the others. */
    for (int i = optind; conn && i < argc; i++)
      if (backup_vm (repo, conn, &vmo, argv[i]) == -1) {
        cli_error ("backup %s: %s", argv[i], get_error ());
        failed++;
      }
    if (conn)
      virConnectClose (conn);
  }
  if (nimages + nvms > 1)
    printf ("%zu of %zu backups succeeded\n", nimages + nvms - failed,
            nimages + nvms);
  repo_close (repo);
  event_log_close (&events);
  return failed ? EXIT_FAIL : EXIT_OK;
}
