/* vmbackup [-c URI] plan VM...: what a backup of each VM would do. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "vm/host.h"
#include "cli.h"
#include "parse_options.h"

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
              "backup\n",
              d->target, d->reason);
  }
  if (p->dom.nvram)
    printf ("  nvram    %s\n", p->dom.nvram);
  if (p->dom.has_tpm)
    printf ("  tpm      emulated (swtpm state is backed up)\n");
}

static void
add_string (json_object *o, const char *key, const char *value)
{
  json_object_object_add (o, key, json_object_new_string (value));
}

static void
add_bool (json_object *o, const char *key, bool value)
{
  json_object_object_add (o, key, json_object_new_boolean (value));
}

static json_object *
disk_json (const struct vm_disk *d)
{
  json_object *o = json_object_new_object ();

  add_string (o, "target", d->target);
  add_string (o, "device", d->device);
  add_string (o, "type", d->type);
  add_string (o, "source", d->source);
  add_string (o, "format", d->format);
  add_bool (o, "included", d->included);
  json_object_object_add (o, "reason",
                          d->reason ? json_object_new_string (d->reason)
                                    : NULL);
  return o;
}

static void
add_json (struct strbuf *sb, const struct vm_plan *p)
{
  json_object *o = json_object_new_object ();
  json_object *checks = json_object_new_array ();
  json_object *fss = json_object_new_array ();
  json_object *disks = json_object_new_array ();

  add_string (o, "vm", p->dom.name);
  add_string (o, "state", p->state_name);
  add_string (o, "mode", p->mode);
  add_string (o, "reason", p->mode_reason);
  for (int i = 0; i < CHECK_COUNT; i++) {
    json_object *c = json_object_new_object ();
    add_string (c, "name", p->checks[i].name);
    add_bool (c, "ok", p->checks[i].ok);
    add_string (c, "detail", p->checks[i].detail);
    json_object_array_add (checks, c);
  }
  json_object_object_add (o, "checks", checks);
  for (size_t i = 0; i < p->agent.fs.len; i++) {
    json_object *f = json_object_new_object ();
    add_string (f, "mountpoint", p->agent.fs.ptr[i].mountpoint);
    add_string (f, "type", p->agent.fs.ptr[i].type);
    add_bool (f, "freezable", p->agent.fs.ptr[i].freezable);
    json_object_array_add (fss, f);
  }
  json_object_object_add (o, "filesystems", fss);
  for (size_t i = 0; i < p->dom.disks.len; i++)
    json_object_array_add (disks, disk_json (&p->dom.disks.ptr[i]));
  json_object_object_add (o, "disks", disks);
  /* One VM per line, as before; '/' is not worth escaping in paths. */
  strbuf_addstr (sb,
                 json_object_to_json_string_ext (
                   o,
                   JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (o);
}

int
cmd_plan (int argc, char **argv)
{
  const char *uri = global_uri;
  struct strbuf sb = STRBUF_INIT;
  struct vm_host *host;
  bool json = false;
  int c, failed = 0;
  const struct opt opts[] = {
    OPT_FLAG (0, "json", &json,
              "print a JSON array, one object per VM, "
              "with every check and disk"),
    OPT_CONNECT (&uri),
    OPT_END (),
  };

  if ((c = parse_options ("plan", opts, argc, argv)) != PARSE_GO_ON)
    return c;
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
