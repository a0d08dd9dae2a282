/* vmbackup [-c URI] plan VM...: what a backup of each VM would do. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "vm/host.h"
#include "cli.h"

#define AGENT_TIMEOUT_S 5

static void
print_text (const struct vm_plan *p)
{
  printf ("VM %s (%s)\n", p->dom.name, p->state_name);
  if (p->live)
    printf ("  backup: live (application-consistent: filesystems frozen "
            "through the guest agent)\n");
  else
    printf ("  backup: offline (%s)\n", p->mode_reason);
  for (int i = 0; i < CHECK_COUNT; i++)
    printf ("  [%s] %s: %s\n", p->checks[i].ok ? "ok  " : "FAIL",
            p->checks[i].name, p->checks[i].detail);
  for (size_t i = 0; i < p->dom.disks.len; i++) {
    const struct vm_disk *d = &p->dom.disks.ptr[i];
    if (d->included)
      printf ("  disk %-8s included  %s%s%s%s\n", d->target, d->source,
              d->format[0] ? " (" : "", d->format, d->format[0] ? ")" : "");
    else
      printf ("  disk %-8s EXCLUDED  %s; protect it with an in-guest "
              "backup\n", d->target, d->reason);
  }
  if (p->dom.nvram)
    printf ("  nvram    %s\n", p->dom.nvram);
  if (p->dom.has_tpm)
    printf ("  tpm      emulated (swtpm state is backed up)\n");
}

static void
add_json (struct strbuf *sb, const struct vm_plan *p)
{
  strbuf_addstr (sb, "{\"vm\": ");
  strbuf_add_json_string (sb, p->dom.name);
  strbuf_addstr (sb, ", \"state\": ");
  strbuf_add_json_string (sb, p->state_name);
  strbuf_addstr (sb, ", \"mode\": ");
  strbuf_add_json_string (sb, p->mode);
  strbuf_addstr (sb, ", \"reason\": ");
  strbuf_add_json_string (sb, p->mode_reason);
  strbuf_addstr (sb, ", \"checks\": [");
  for (int i = 0; i < CHECK_COUNT; i++) {
    strbuf_addstr (sb, i ? ", {\"name\": " : "{\"name\": ");
    strbuf_add_json_string (sb, p->checks[i].name);
    strbuf_addf (sb, ", \"ok\": %s, \"detail\": ",
                 p->checks[i].ok ? "true" : "false");
    strbuf_add_json_string (sb, p->checks[i].detail);
    strbuf_addstr (sb, "}");
  }
  strbuf_addstr (sb, "], \"filesystems\": [");
  for (size_t i = 0; i < p->agent.fs.len; i++) {
    strbuf_addstr (sb, i ? ", {\"mountpoint\": " : "{\"mountpoint\": ");
    strbuf_add_json_string (sb, p->agent.fs.ptr[i].mountpoint);
    strbuf_addstr (sb, ", \"type\": ");
    strbuf_add_json_string (sb, p->agent.fs.ptr[i].type);
    strbuf_addf (sb, ", \"freezable\": %s}",
                 p->agent.fs.ptr[i].freezable ? "true" : "false");
  }
  strbuf_addstr (sb, "], \"disks\": [");
  for (size_t i = 0; i < p->dom.disks.len; i++) {
    const struct vm_disk *d = &p->dom.disks.ptr[i];
    strbuf_addstr (sb, i ? ", {\"target\": " : "{\"target\": ");
    strbuf_add_json_string (sb, d->target);
    strbuf_addstr (sb, ", \"device\": ");
    strbuf_add_json_string (sb, d->device);
    strbuf_addstr (sb, ", \"type\": ");
    strbuf_add_json_string (sb, d->type);
    strbuf_addstr (sb, ", \"source\": ");
    strbuf_add_json_string (sb, d->source);
    strbuf_addstr (sb, ", \"format\": ");
    strbuf_add_json_string (sb, d->format);
    strbuf_addf (sb, ", \"included\": %s, \"reason\": ",
                 d->included ? "true" : "false");
    if (d->reason)
      strbuf_add_json_string (sb, d->reason);
    else
      strbuf_addstr (sb, "null");
    strbuf_addstr (sb, "}");
  }
  strbuf_addstr (sb, "]}");
}

int
cmd_plan (int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "connect", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  const char *uri = global_uri;
  struct strbuf sb = STRBUF_INIT;
  struct vm_host *host;
  bool json = false;
  int c, failed = 0;

  while ((c = getopt_long (argc, argv, "hc:", opts, NULL)) != -1) {
    switch (c) {
    case 'j': json = true; break;
    case 'c': uri = optarg; break;
    case OPT_HELP: cli_help ("plan"); return EXIT_OK;
    default: return cli_usage_error ("plan", "bad option");
    }
  }
  if (optind == argc)
    return cli_usage_error ("plan", "name at least one VM");
  host = vm_host_open (uri);
  if (host == NULL) {
    cli_error ("%s", get_error ());
    return EXIT_FAIL;
  }
  strbuf_addstr (&sb, "[");
  for (int i = optind; i < argc; i++) {
    struct vm_plan p;

    if (vm_host_plan (host, argv[i], AGENT_TIMEOUT_S, &p) == -1) {
      cli_error ("%s", get_error ());
      failed++;
      continue;
    }
    if (json) {
      strbuf_addstr (&sb, sb.len > 1 ? ",\n " : "\n ");
      add_json (&sb, &p);
    }
    else
      print_text (&p);
    vm_plan_release (&p);
  }
  if (json) {
    strbuf_addstr (&sb, sb.len > 1 ? "\n]\n" : "]\n");
    fputs (sb.buf, stdout);
  }
  strbuf_release (&sb);
  vm_host_close (host);
  return failed ? EXIT_FAIL : EXIT_OK;
}
