/* vmbackup export: serve one disk of a backup read-only over NBD
 * (nbdkit with our plugin, src/export/) until stopped.  Everything a
 * user can get wrong (the ID, the disk, the key, the socket path) is
 * checked here, before anything is served. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "export/export_run.h"
#include "repo/keyring.h"
#include "repo/manifest.h"
#include "cli.h"
#include "key_source.h"
#include "parse_options.h"

struct ready_note {
  const char *id, *disk, *where;
  uint64_t size;
};

static void
say_ready (void *opaque)
{
  struct ready_note *n = opaque;
  char sz[32];

  printf ("exporting %s disk %s (%s) read-only on %s; stop with Ctrl-C\n",
          n->id, n->disk, format_size (n->size, sz, sizeof sz), n->where);
  fflush (stdout);
}

/* The key for the plugin: the master key, opened here (asking if need
 * be), handed over as an exported key through a pipe, so it is never
 * on a command line or in the environment.  -1 for a repository in the
 * clear (none needed) and on error (printed; *failed set). */
int
cli_export_key_text (struct repo *repo, struct strbuf *text, bool *failed)
{
  unsigned char master[MASTER_KEY_LEN];
  char opened[KEY_SLOT_ID_LEN + 1];
  int r;

  *failed = false;
  if (repo->encryption == 0) {
    /* refuses a key given for a repository in the clear */
    *failed = cli_repo_keys (repo, KEY_NEEDED) == -1;
    return -1;
  }
  *failed = true;
  if (cli_open_master (repo, master, opened) == -1)
    return -1;
  r = repo_unlock_master (repo, master);
  if (r == 0)
    keyring_export (repo, master, text);
  OPENSSL_cleanse (master, sizeof master);
  if (r == -1) {
    cli_error ("%s", get_error ());
    return -1;
  }
  *failed = false;
  return 0;
}

int
cli_key_text_pipe (const struct strbuf *text)
{
  int fds[2] = { -1, -1 };

  /* The read end stays open across exec for nbdkit; the text (a few
   * hundred bytes) fits in the pipe, so writing does not block. */
  if (pipe (fds) == -1 || fcntl (fds[1], F_SETFD, FD_CLOEXEC) == -1
      || write (fds[1], text->buf, text->len) != (ssize_t) text->len) {
    cli_error ("key pipe: %s", strerror (errno));
    if (fds[0] >= 0)
      close (fds[0]);
    fds[0] = -1;
  }
  if (fds[1] >= 0)
    close (fds[1]);
  return fds[0];
}

int
cli_export_key_pipe (struct repo *repo, bool *failed)
{
  struct strbuf text = STRBUF_INIT;
  int fd;

  if (cli_export_key_text (repo, &text, failed) == -1)
    return -1;
  fd = cli_key_text_pipe (&text);
  *failed = fd == -1;
  OPENSSL_cleanse (text.buf, text.len);
  strbuf_release (&text);
  return fd;
}

const struct manifest_disk *
cli_pick_disk (const struct manifest *m, const char *name)
{
  for (size_t i = 0; i < m->disks.len; i++)
    if (name ? strcmp (m->disks.ptr[i].name, name) == 0 : m->disks.len == 1)
      return &m->disks.ptr[i];
  if (name)
    cli_error ("backup %s has no disk %s", m->id, name);
  else if (m->disks.len == 0)
    cli_error ("backup %s has no disk", m->id);
  else
    cli_error ("backup %s has %zu disks: choose one with --disk", m->id,
               m->disks.len);
  return NULL;
}

int
cmd_export (int argc, char **argv)
{
  const char *repo_opt = NULL, *diskname = NULL, *sock = NULL, *bind = NULL;
  int port = 0, key_fd = -1, r = EXIT_FAIL;
  const struct manifest_disk *disk;
  struct manifest *m = NULL;
  struct repo *repo;
  bool key_failed;
  char where[512];
  CLEANUP_FREE char *repo_path = NULL;
  const struct opt opts[] = {
    OPT_STRING (0, "disk", &diskname, "TARGET",
                "the disk to export when the backup has several (vda)"),
    OPT_STRING (0, "socket", &sock, "PATH",
                "serve on a unix socket at PATH (must not exist)"),
    OPT_INT (0, "port", &port, "N", 1, 65535, "port",
             "serve on TCP port N instead"),
    OPT_STRING (0, "bind", &bind, "ADDR",
                "with --port: the address to listen on (default: all)"),
    OPT_REPO (&repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((r = parse_options ("export", opts, argc, argv)) != PARSE_GO_ON)
    return r;
  r = EXIT_FAIL;
  if (optind + 1 != argc)
    return cli_usage_error ("export", "give exactly one backup ID");
  if ((sock == NULL) == (port == 0))
    return cli_usage_error ("export", "give one of --socket PATH or --port N");
  if (bind && port == 0)
    return cli_usage_error ("export", "--bind goes with --port");
  if (sock && access (sock, F_OK) == 0) {
    cli_error ("%s already exists; remove it or choose another path", sock);
    return EXIT_FAIL;
  }
  struct export_params p = {
    .socket = sock,
    .port = port,
    .bind = bind,
    .event_log = global_event_log,
    .key_fd = -1,
    .ready = say_ready,
  };
  if ((p.plugin = export_plugin_path ()) == NULL) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  key_fd = cli_export_key_pipe (repo, &key_failed);
  if (key_failed)
    goto out;
  m = manifest_resolve (repo, argv[optind]);
  if (m == NULL) {
    cli_error ("%s", get_error ());
    goto out;
  }
  if (m->archive.present) {
    cli_error ("backup %s is a files backup: it has no disk to export", m->id);
    goto out;
  }
  if ((disk = cli_pick_disk (m, diskname)) == NULL)
    goto out;
  if (sock)
    snprintf (where, sizeof where, "unix socket %s (nbd+unix:///?socket=%s)",
              sock, sock);
  else
    snprintf (where, sizeof where, "nbd://%s:%d", bind ? bind : "localhost",
              port);
  struct ready_note note = { m->id, disk->name, where, disk->size };
  repo_path = strdup (repo->path);
  if (repo_path == NULL) {
    cli_error ("out of memory");
    goto out;
  }
  p.repo = repo_path;
  p.backup = m->id;
  p.disk = disk->name;
  p.key_fd = key_fd;
  p.opaque = &note;
  /* nbdkit opens the repository itself: ours is closed first, so that
   * no connection (an ssh child) of ours outlives its use. */
  repo_close (repo);
  repo = NULL;
  if (export_run (&p) == -1)
    cli_error ("export %s disk %s: %s", note.id, note.disk, get_error ());
  else
    r = EXIT_OK;
out:
  if (key_fd >= 0)
    close (key_fd);
  manifest_free (m);
  if (repo)
    repo_close (repo);
  return r;
}
