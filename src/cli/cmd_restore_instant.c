/* restore --instant and restore --instant-status (vm/instant.h): the
 * key is opened once and handed to each disk's export through a pipe
 * of its own. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "export/export_run.h"
#include "vm/instant.h"
#include "vm/restore.h"
#include "cli.h"
#include "report.h"

struct key_source {
  struct strbuf text; /* the exported key, or empty in the clear */
  bool clear;
};

static int
key_pipe (void *opaque, bool *failed)
{
  struct key_source *k = opaque;
  int fd;

  *failed = false;
  if (k->clear)
    return -1;
  fd = cli_key_text_pipe (&k->text);
  *failed = fd == -1;
  return fd;
}

int
cli_restore_instant (struct repo *repo, const struct manifest *m,
                     struct restore_vm_opts *vo, int bandwidth_mib)
{
  struct key_source key = { .text = STRBUF_INIT };
  struct instant_opts io = { .repo = repo->path,
                             .key_pipe = key_pipe,
                             .opaque = &key,
                             .bandwidth_mib = bandwidth_mib };
  struct event_log events;
  struct cli_report report;
  bool failed;
  int r = EXIT_FAIL;

  if ((io.plugin = export_plugin_path ()) == NULL) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  key.clear = cli_export_key_text (repo, &key.text, &failed) == -1;
  if (failed)
    goto out;
  if (cli_open_events (&events) == -1)
    goto out;
  vo->events = &events;
  vo->instant = &io;
  cli_report_init (&report);
  vo->report = &report.rep;
  if (restore_vm (repo, m, vo) == 0)
    r = EXIT_OK;
  else
    cli_error ("restore %s --instant: %s", m->id, get_error ());
  event_log_close (&events);
out:
  OPENSSL_cleanse (key.text.buf, key.text.len);
  strbuf_release (&key.text);
  return r;
}

static void
print_status (void *opaque, const struct instant_status *s)
{
  int *n = opaque;
  char a[32], b[32];

  (*n)++;
  printf ("VM %s from %s: %s\n", s->vm, s->backup[0] ? s->backup : "?",
          s->running ? "copying"
                     : "stopped: run the same 'vmbackup restore ... "
                       "--instant' again to go on");
  for (size_t i = 0; i < s->ndisks; i++) {
    const struct instant_status_disk *d = &s->disks[i];
    if (d->total == 0)
      printf ("  %s: not started\n", d->target);
    else
      printf ("  %s: %.0f%% (%s of %s)\n", d->target,
              100.0 * (double) d->copied / (double) d->total,
              format_size (d->copied, a, sizeof a),
              format_size (d->total, b, sizeof b));
  }
}

int
cli_instant_status (void)
{
  int n = 0;

  instant_status_list (print_status, &n);
  if (n == 0)
    printf ("no instant restore in progress\n");
  return EXIT_OK;
}
