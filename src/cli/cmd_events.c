/* vmbackup events [VM] [--since T] [--json]: read the host event log. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/events.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "repo/manifest.h"
#include "cli.h"

#define LINE_MAX_LEN 65536

static const char *
str (json_object *o, const char *key)
{
  json_object *v;

  return json_object_object_get_ex (o, key, &v) ? json_object_get_string (v)
    : "";
}

/* "2026-11-25" or "2026-11-25T03:00:00Z". */
static int
parse_since (const char *s, time_t *t)
{
  char buf[32];

  if (parse_time (s, t) == 0)
    return 0;
  if (strlen (s) != 10)
    return -1;
  snprintf (buf, sizeof buf, "%sT00:00:00Z", s);
  return parse_time (buf, t);
}

int
cmd_events (int argc, char **argv)
{
  static const struct option opts[] = {
    { "since", required_argument, NULL, 's' },
    { "json", no_argument, NULL, 'j' },
    { "event-log", required_argument, NULL, 'E' },
    { "catalogue", no_argument, NULL, 'C' },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
  };
  const char *vm = NULL, *path = global_event_log;
  char vm_name[NAME_MAX_LEN + 1];
  struct strbuf out = STRBUF_INIT;
  time_t since = 0;
  bool json = false;
  char *line = NULL;
  size_t cap = 0, n = 0, bad = 0;
  ssize_t len;
  FILE *f;
  int c;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 's':
      if (parse_since (optarg, &since) == -1)
        return cli_usage_error ("events", "--since wants 2026-11-25 or "
                                "2026-11-25T03:00:00Z, got '%s'", optarg);
      break;
    case 'j': json = true; break;
    case 'E': path = optarg; break;
    case 'C':
      for (const struct event_def *d = event_catalogue; d->id; d++)
        printf ("%d %-7s %s\n", d->id, severity_name (d->severity), d->name);
      return EXIT_OK;
    case OPT_HELP: cli_help ("events"); return EXIT_OK;
    default: return cli_usage_error ("events", "bad option");
    }
  }
  if (optind < argc)
    vm = argv[optind++];
  if (optind != argc)
    return cli_usage_error ("events", "unexpected argument '%s'", argv[optind]);
  /* Events name a VM by its backup name ("web server": web_20server). */
  if (vm && backup_name_of (vm, vm_name) == 0)
    vm = vm_name;
  if (path == NULL)
    path = getenv ("VMBACKUP_EVENT_LOG");
  if (path == NULL || !path[0])
    path = DEFAULT_EVENT_LOG;
  f = fopen (path, "re");
  if (f == NULL) {
    cli_error ("event log %s: %m", path);
    return EXIT_FAIL;
  }
  strbuf_addstr (&out, json ? "[" : "");
  while ((len = getline (&line, &cap, f)) > 0) {
    json_object *ev;
    time_t t;

    if (len > LINE_MAX_LEN || (ev = json_tokener_parse (line)) == NULL) {
      bad++;
      continue;
    }
    if ((vm && strcmp (str (ev, "vm"), vm) != 0)
        || (since && (parse_time (str (ev, "time"), &t) == -1 || t < since))) {
      json_object_put (ev);
      continue;
    }
    if (json) {
      strbuf_addstr (&out, n ? ",\n " : "\n ");
      strbuf_addstr (&out, json_object_to_json_string_ext
                     (ev, JSON_C_TO_STRING_PLAIN));
    }
    else
      strbuf_addf (&out, "%s %-7s %4d %-16s %s\n", str (ev, "time"),
                   str (ev, "severity"),
                   json_object_get_int (json_object_object_get (ev, "id")),
                   str (ev, "vm"), str (ev, "message"));
    n++;
    json_object_put (ev);
  }
  free (line);
  fclose (f);
  if (json)
    strbuf_addstr (&out, n ? "\n]\n" : "]\n");
  fputs (out.buf, stdout);
  strbuf_release (&out);
  if (bad)
    cli_warning ("%s: %zu unreadable line%s skipped", path, bad,
                 bad == 1 ? "" : "s");
  return EXIT_OK;
}
