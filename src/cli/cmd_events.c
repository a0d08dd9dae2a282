/* vmbackup events [VM] [--since T] [--json]: read the host event log. */
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
#include "parse_options.h"

#define LINE_MAX_LEN 65536

static const char *
str (json_object *o, const char *key)
{
  json_object *v;

  return json_object_object_get_ex (o, key, &v) ? json_object_get_string (v)
                                                : "";
}

/* --since: "2026-11-25" or "2026-11-25T03:00:00Z". */
static int
parse_since (void *value, const char *s)
{
  time_t *t = value;
  char buf[32];

  if (parse_time (s, t) == 0)
    return 0;
  snprintf (buf, sizeof buf, "%sT00:00:00Z", s);
  if (strlen (s) == 10 && parse_time (buf, t) == 0)
    return 0;
  set_error (0,
             "--since wants 2026-11-25 or 2026-11-25T03:00:00Z, got "
             "'%s'",
             s);
  return -1;
}

int
cmd_events (int argc, char **argv)
{
  const char *vm = NULL, *path = global_event_log;
  char vm_name[NAME_MAX_LEN + 1];
  struct strbuf out = STRBUF_INIT;
  time_t since = 0;
  bool json = false, catalogue = false;
  char *line = NULL;
  size_t cap = 0, n = 0, bad = 0;
  ssize_t len;
  FILE *f;
  int c;
  const struct opt opts[] = {
    OPT_CALLBACK (0, "since", &since, "TIME", parse_since,
                  "only events "
                  "from TIME on: 2026-11-25T03:00:00Z, or 2026-11-25"),
    OPT_FLAG (0, "json", &json, "print a JSON array of the events"),
    OPT_FLAG (0, "catalogue", &catalogue,
              "list every event ID, its "
              "severity and name"),
    OPT_EVENT_LOG (&path),
    OPT_END (),
  };

  if ((c = parse_options ("events", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (catalogue) {
    for (const struct event_def *d = event_catalogue; d->id; d++)
      printf ("%d %-7s %s\n", d->id, severity_name (d->severity), d->name);
    return EXIT_OK;
  }
  if (optind < argc)
    vm = argv[optind++];
  if (optind != argc)
    return cli_usage_error ("events", "unexpected argument '%s'",
                            argv[optind]);
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
      strbuf_addstr (&out,
                     json_object_to_json_string_ext (ev,
                                                     JSON_C_TO_STRING_PLAIN));
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
