/* vmbackup restore-test: restore VM backups as throw-away VMs on an
 * isolated network, boot them and run checks (vm/restore_test.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/events.h"
#include "repo/manifest.h"
#include "vm/restore_test.h"
#include "cli.h"
#include "parse_options.h"

#define MAX_IDS 64

static void
print_result (const struct restore_test_result *res)
{
  printf ("%s %s: restored as %s in %.1f s", res->backup,
          res->passed ? "PASSED" : "FAILED", res->vm[0] ? res->vm : "-",
          res->restore_seconds);
  if (res->agent_seconds >= 0)
    printf (", agent after %.1f s", res->agent_seconds);
  printf (", %.1f s in all\n", res->total_seconds);
  if (res->leftovers)
    printf ("  removed the leftovers of %u dead restore test%s first\n",
            res->leftovers, res->leftovers == 1 ? "" : "s");
  for (size_t i = 0; i < res->nchecks; i++)
    printf ("  check %-24s %s %5.1f s (at %.1f s): %s\n", res->checks[i].spec,
            res->checks[i].ok ? "ok    " : "FAILED", res->checks[i].seconds,
            res->checks[i].at, res->checks[i].detail);
  if (!res->passed)
    printf ("  reason: %s\n", res->reason);
}

static json_object *
json_result (const struct restore_test_result *res)
{
  json_object *o = json_object_new_object (), *checks;

  json_object_object_add (o, "backup", json_object_new_string (res->backup));
  json_object_object_add (o, "vm", json_object_new_string (res->original));
  json_object_object_add (o, "test_vm", json_object_new_string (res->vm));
  json_object_object_add (o, "network", json_object_new_string (res->network));
  json_object_object_add (o, "passed", json_object_new_boolean (res->passed));
  json_object_object_add (o, "reason",
                          res->passed ? NULL
                                      : json_object_new_string (res->reason));
  json_object_object_add (o, "restore_seconds",
                          json_object_new_double (res->restore_seconds));
  json_object_object_add (o, "agent_seconds",
                          res->agent_seconds < 0
                            ? NULL
                            : json_object_new_double (res->agent_seconds));
  json_object_object_add (o, "total_seconds",
                          json_object_new_double (res->total_seconds));
  json_object_object_add (o, "leftovers_removed",
                          json_object_new_int (res->leftovers));
  json_object_object_add (o, "cleaned",
                          json_object_new_boolean (res->cleaned));
  json_object_object_add (o, "interrupted",
                          json_object_new_boolean (res->interrupted));
  checks = json_object_new_array ();
  for (size_t i = 0; i < res->nchecks; i++) {
    json_object *c = json_object_new_object ();
    json_object_object_add (c, "check",
                            json_object_new_string (res->checks[i].spec));
    json_object_object_add (c, "passed",
                            json_object_new_boolean (res->checks[i].ok));
    json_object_object_add (c, "seconds",
                            json_object_new_double (res->checks[i].seconds));
    json_object_object_add (c, "at_seconds",
                            json_object_new_double (res->checks[i].at));
    json_object_object_add (c, "detail",
                            json_object_new_string (res->checks[i].detail));
    json_object_array_add (checks, c);
  }
  json_object_object_add (o, "checks", checks);
  return o;
}

int
cmd_restore_test (int argc, char **argv)
{
  const char *repo_opt = NULL, *check_v[RESTORE_TEST_MAX_CHECKS];
  struct opt_strings check_specs = OPT_STRINGS_INIT (check_v);
  struct restore_check checks[RESTORE_TEST_MAX_CHECKS];
  struct manifest *ms[MAX_IDS] = { NULL };
  struct restore_test_opts o = { .uri = global_uri, .timeout_s = 300 };
  struct restore_test_result res;
  struct event_log events;
  struct repo *repo = NULL;
  json_object *all = NULL;
  bool json = false, janitor = false;
  sigset_t stops;
  size_t nids = 0, nchecks = 0;
  int c, r = EXIT_FAIL, failed = 0;
  const struct opt opts[] = {
    OPT_STRING_LIST (0, "check", &check_specs, "CHECK",
                     "agent, exec:CMD[=STATUS] or tcp:PORT; repeatable "
                     "(default: agent)"),
    OPT_INT (0, "timeout", &o.timeout_s, "S", 1, 86400, "timeout",
             "seconds to wait for the guest agent, and for each check "
             "(default 300)"),
    OPT_STRING (0, "state-dir", &o.state_dir, "DIR",
                "where runs record what they made, and put the VM's files "
                "(default " RESTORE_TEST_STATE_DIR ")"),
    OPT_FLAG (0, "json", &json, "print the results as JSON"),
    OPT_FLAG (0, "janitor", &janitor,
              "(internal) clean up after the run feeding standard input"),
    OPT_CONNECT (&o.uri),
    OPT_REPO (&repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((c = parse_options ("restore-test", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (janitor) {
    if (optind != argc)
      return cli_usage_error ("restore-test", "--janitor takes no IDs");
    if (cli_open_events (&events) == -1)
      return EXIT_FAIL;
    c = restore_test_janitor (o.uri,
                              o.state_dir ? o.state_dir
                                          : RESTORE_TEST_STATE_DIR,
                              &events);
    event_log_close (&events);
    return c == 0 ? EXIT_OK : EXIT_FAIL;
  }
  if (optind == argc)
    return cli_usage_error ("restore-test", "give one or more backup IDs");
  if (argc - optind > MAX_IDS)
    return cli_usage_error ("restore-test", "at most %d backups at once",
                            MAX_IDS);
  for (size_t i = 0; i < check_specs.len; i++, nchecks++)
    if (restore_check_parse (check_specs.v[i], &checks[i]) == -1) {
      r = cli_usage_error ("restore-test", "%s", get_error ());
      goto out;
    }
  if (nchecks == 0) {
    restore_check_parse ("agent", &checks[0]);
    nchecks = 1;
  }
  o.checks = checks;
  o.nchecks = nchecks;
  /* Held from here, before any thread starts (threads inherit the mask):
   * a run takes them between its steps and cleans up (restore_test.h). */
  sigemptyset (&stops);
  sigaddset (&stops, SIGINT);
  sigaddset (&stops, SIGTERM);
  sigaddset (&stops, SIGHUP);
  sigprocmask (SIG_BLOCK, &stops, NULL);
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    goto out;
  /* Every ID is found and is a VM backup before anything is made. */
  for (; optind < argc; optind++, nids++) {
    ms[nids] = manifest_resolve (repo, argv[optind]);
    if (ms[nids] == NULL) {
      cli_error ("%s", get_error ());
      goto out;
    }
    if (strcmp (ms[nids]->kind, "vm") != 0 || ms[nids]->archive.present) {
      cli_error ("backup %s is not a VM backup: only VMs can be "
                 "restore-tested",
                 ms[nids]->id);
      goto out;
    }
  }
  if (cli_open_events (&events) == -1)
    goto out;
  o.events = &events;
  if (json)
    all = json_object_new_array ();
  for (size_t i = 0; i < nids; i++) {
    if (restore_test_run (repo, ms[i], &o, &res) == -1) {
      failed++;
      cli_error ("restore-test %s: %s", ms[i]->id, res.reason);
    }
    if (json)
      json_object_array_add (all, json_result (&res));
    else
      print_result (&res);
    if (res.interrupted)
      break;
  }
  event_log_close (&events);
  if (json)
    printf ("%s\n",
            json_object_to_json_string_ext (all,
                                            JSON_C_TO_STRING_PRETTY
                                              | JSON_C_TO_STRING_SPACED));
  r = failed ? EXIT_FAIL : EXIT_OK;
out:
  json_object_put (all);
  for (size_t i = 0; i < nchecks; i++)
    restore_check_release (&checks[i]);
  for (size_t i = 0; i < nids + 1 && i < MAX_IDS; i++)
    manifest_free (ms[i]);
  repo_close (repo);
  return r;
}
