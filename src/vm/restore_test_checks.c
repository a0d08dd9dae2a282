/* Restore-test checks: parsing --check and running one in the guest.
 *
 * The TCP check connects from inside the guest, through the agent
 * (guest-exec of nc, or bash's /dev/tcp), to 127.0.0.1:PORT.  The
 * throw-away VM's network is isolated and has no DHCP: the guest may have
 * no address on it at all, and the host none on its bridge, so a probe
 * from the host would test the network set-up rather than the service.
 * Inside the guest it needs nothing but the agent the test waits for
 * anyway, and what answers there is the restored service. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/units.h"
#include "virt/agent_exec.h"
#include "restore_test_checks.h"

static int
parse_number (const char *s, int lo, int hi, int *v)
{
  char *end;
  long n;

  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  n = strtol (s, &end, 10);
  if (errno || *end || n < lo || n > hi)
    return -1;
  *v = (int) n;
  return 0;
}

int
restore_check_parse (const char *spec, struct restore_check *c)
{
  memset (c, 0, sizeof *c);
  c->spec = spec;
  if (strcmp (spec, "agent") == 0) {
    c->kind = CHECK_AGENT;
    return 0;
  }
  if (strncmp (spec, "exec:", 5) == 0) {
    const char *cmd = spec + 5, *eq = strrchr (cmd, '=');
    size_t len = strlen (cmd);

    c->kind = CHECK_EXEC;
    /* A trailing =DIGITS is the status wanted; any other '=' belongs to
     * the command (exec:test "$x" = y). */
    if (eq && parse_number (eq + 1, 0, 255, &c->expect) == 0)
      len = eq - cmd;
    else if (eq && eq[1] == '\0') {
      set_error (0, "bad check '%s': no exit status after '='", spec);
      return -1;
    }
    while (len && cmd[len - 1] == ' ')
      len--;
    if (len == 0) {
      set_error (0, "bad check '%s': no command after 'exec:'", spec);
      return -1;
    }
    c->cmd = strndup (cmd, len);
    if (c->cmd == NULL) {
      set_error (ENOMEM, "check");
      return -1;
    }
    return 0;
  }
  if (strncmp (spec, "tcp:", 4) == 0) {
    c->kind = CHECK_TCP;
    if (parse_number (spec + 4, 1, 65535, &c->port) == -1) {
      set_error (0, "bad check '%s': a TCP port is 1 to 65535", spec);
      return -1;
    }
    if (asprintf (&c->cmd,
                  "if command -v nc >/dev/null 2>&1; then "
                  "nc -w 5 127.0.0.1 %d </dev/null >/dev/null; "
                  "elif command -v bash >/dev/null 2>&1; then "
                  "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d'; "
                  "else echo 'neither nc nor bash in the guest'; exit 2; fi",
                  c->port, c->port)
        == -1) {
      c->cmd = NULL;
      set_error (ENOMEM, "check");
      return -1;
    }
    return 0;
  }
  set_error (0,
             "bad check '%s': want agent, exec:CMD[=STATUS] or "
             "tcp:PORT",
             spec);
  return -1;
}

void
restore_check_release (struct restore_check *c)
{
  free (c->cmd);
  c->cmd = NULL;
}

/* The first line of the command's output, for the report. */
static void
first_line (char *s)
{
  char *nl = strchr (s, '\n');

  if (nl)
    *nl = '\0';
}

void
restore_check_run (virDomainPtr dom, const struct restore_check *c,
                   int timeout_s, struct restore_check_result *r)
{
  double t0 = now_monotonic ();
  char out[256];
  int status;

  r->spec = c->spec;
  r->ok = false;
  r->detail[0] = '\0';
  switch (c->kind) {
    case CHECK_AGENT:
      if (agent_ping (dom, timeout_s) == 0) {
        r->ok = true;
        snprintf (r->detail, sizeof r->detail, "guest-ping answered");
      }
      else
        snprintf (r->detail, sizeof r->detail, "%s", get_error ());
      break;
    case CHECK_EXEC:
    case CHECK_TCP:
      if (agent_exec (dom, c->cmd, timeout_s, &status, out, sizeof out)
          == -1) {
        snprintf (r->detail, sizeof r->detail, "%s", get_error ());
        break;
      }
      first_line (out);
      if (c->kind == CHECK_TCP) {
        r->ok = status == 0;
        if (r->ok)
          snprintf (r->detail, sizeof r->detail,
                    "port %d answered inside the guest", c->port);
        else
          snprintf (r->detail, sizeof r->detail,
                    "nothing answered on port %d inside the guest%s%s",
                    c->port, *out ? ": " : "", out);
        break;
      }
      r->ok = status == c->expect;
      snprintf (r->detail, sizeof r->detail, "exit status %d%s%d%s%s", status,
                r->ok ? ", as wanted " : ", wanted ", c->expect,
                *out ? ": " : "", out);
      break;
  }
  r->seconds = now_monotonic () - t0;
}
