/* Guest commands through the agent (see agent_exec.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "common/error.h"
#include "agent_exec.h"

static double
mono (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One agent command; its parsed reply (the caller puts it), whose
 * "return" member is in *ret, or NULL with the error set. */
static json_object *
call (virDomainPtr dom, json_object *cmd, int timeout_s, json_object **ret)
{
  char *reply = virDomainQemuAgentCommand (
    dom, json_object_to_json_string_ext (cmd, JSON_C_TO_STRING_PLAIN),
    timeout_s < 1 ? 1 : timeout_s, 0);
  json_object *root;

  if (reply == NULL) {
    const char *m = virGetLastErrorMessage ();
    set_error (0, "guest agent: %s", m ? m : "no answer");
    return NULL;
  }
  root = json_tokener_parse (reply);
  free (reply);
  if (root == NULL || !json_object_object_get_ex (root, "return", ret)) {
    json_object_put (root);
    set_error (0, "guest agent returned malformed JSON");
    return NULL;
  }
  return root;
}

int
agent_ping (virDomainPtr dom, int timeout_s)
{
  json_object *cmd = json_object_new_object (), *ret;
  json_object *root;

  json_object_object_add (cmd, "execute",
                          json_object_new_string ("guest-ping"));
  root = call (dom, cmd, timeout_s, &ret);
  json_object_put (cmd);
  if (root == NULL)
    return -1;
  json_object_put (root);
  return 0;
}

/* Append the base64 output member key of r, decoded, to out. */
static void
add_output (json_object *r, const char *key, char *out, size_t outlen)
{
  static const char b64[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  json_object *v;
  const char *s;
  size_t used = strlen (out);
  unsigned acc = 0;
  int bits = 0;

  if (!json_object_object_get_ex (r, key, &v))
    return;
  for (s = json_object_get_string (v); s && *s && used + 1 < outlen; s++) {
    const char *p = strchr (b64, *s);
    if (p == NULL || *s == '\0')
      continue; /* '=' padding */
    acc = (acc << 6) | (unsigned) (p - b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[used++] = (char) ((acc >> bits) & 0xff);
    }
  }
  out[used] = '\0';
}

int
agent_exec (virDomainPtr dom, const char *cmdline, double timeout_s,
            int *status, char *out, size_t outlen)
{
  json_object *cmd = json_object_new_object (), *args, *argv, *ret, *root;
  double end = mono () + timeout_s;
  int64_t pid;

  if (outlen)
    out[0] = '\0';
  args = json_object_new_object ();
  argv = json_object_new_array ();
  json_object_array_add (argv, json_object_new_string ("-c"));
  json_object_array_add (argv, json_object_new_string (cmdline));
  json_object_object_add (args, "path", json_object_new_string ("/bin/sh"));
  json_object_object_add (args, "arg", argv);
  json_object_object_add (args, "capture-output", json_object_new_boolean (1));
  json_object_object_add (cmd, "execute",
                          json_object_new_string ("guest-exec"));
  json_object_object_add (cmd, "arguments", args);
  root = call (dom, cmd, (int) timeout_s, &ret);
  json_object_put (cmd);
  if (root == NULL)
    return -1;
  {
    json_object *p;
    if (!json_object_object_get_ex (ret, "pid", &p)) {
      json_object_put (root);
      set_error (0, "guest-exec returned no pid");
      return -1;
    }
    pid = json_object_get_int64 (p);
  }
  json_object_put (root);
  for (;;) {
    json_object *exited, *v;
    cmd = json_object_new_object ();
    args = json_object_new_object ();
    json_object_object_add (args, "pid", json_object_new_int64 (pid));
    json_object_object_add (cmd, "execute",
                            json_object_new_string ("guest-exec-status"));
    json_object_object_add (cmd, "arguments", args);
    root = call (dom, cmd, 10, &ret);
    json_object_put (cmd);
    if (root == NULL)
      return -1;
    if (json_object_object_get_ex (ret, "exited", &exited)
        && json_object_get_boolean (exited)) {
      if (json_object_object_get_ex (ret, "signal", &v))
        *status = 128 + json_object_get_int (v);
      else if (json_object_object_get_ex (ret, "exitcode", &v))
        *status = json_object_get_int (v);
      else
        *status = 255;
      add_output (ret, "out-data", out, outlen);
      add_output (ret, "err-data", out, outlen);
      json_object_put (root);
      return 0;
    }
    json_object_put (root);
    if (mono () > end) {
      set_error (0, "still running after %.0f s", timeout_s);
      return -1;
    }
    usleep (100 * 1000);
  }
}
