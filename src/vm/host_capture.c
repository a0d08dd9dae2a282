/* The host's configuration as one JSON document (host_config.h):
 *   { "format": 1, "hostname", "libvirt", "hypervisor", "cpu",
 *     "objects": [ { "kind", "name", "xml", "active", "autostart",
 *                    "value" (secrets, base64) } ],
 *     "vms": [ { "name", "uuid", "state", "autostart" } ],
 *     "files": [ { "path", "mode", "data" (base64) } ] }
 * docs/repository-format.pod (HOST BACKUPS) is the reference. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "common/error.h"
#include "virt/conn.h"
#include "virt/host_objects.h"
#include "host_capture.h"
#include "host_private.h"

/* The files an admin tunes: each .conf of /etc/libvirt, the hooks, the
 * libvirt-guests defaults.  One file is at most HOST_FILE_MAX. */
#define HOST_FILE_MAX (1u << 20)

static json_object *
base64 (const unsigned char *data, size_t len)
{
  char *b = malloc (4 * ((len + 2) / 3) + 1);
  json_object *j;

  if (b == NULL)
    return NULL;
  EVP_EncodeBlock ((unsigned char *) b, data, (int) len);
  j = json_object_new_string (b);
  free (b);
  return j;
}

static int
add_object (json_object *arr, const struct host_object *o, bool with_value)
{
  json_object *j = json_object_new_object ();

  json_object_object_add (j, "kind",
                          json_object_new_string (host_kind (o->kind)->name));
  json_object_object_add (j, "name", json_object_new_string (o->name));
  json_object_object_add (j, "xml", json_object_new_string (o->xml));
  json_object_object_add (j, "active", json_object_new_boolean (o->active));
  json_object_object_add (j, "autostart",
                          json_object_new_boolean (o->autostart));
  if (with_value && o->has_value)
    json_object_object_add (j, "value", base64 (o->value, o->value_len));
  return json_object_array_add (arr, j);
}

static int
add_file (json_object *arr, const char *path)
{
  struct stat st;
  unsigned char *buf;
  ssize_t n;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  json_object *j;

  if (fd == -1)
    return 0; /* not on this host: nothing to keep */
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)
      || st.st_size > HOST_FILE_MAX) {
    close (fd);
    return 0;
  }
  buf = malloc (st.st_size + 1);
  n = buf ? read (fd, buf, st.st_size) : -1;
  close (fd);
  if (n != st.st_size) {
    free (buf);
    set_error (errno, "read %s", path);
    return -1;
  }
  j = json_object_new_object ();
  json_object_object_add (j, "path", json_object_new_string (path));
  json_object_object_add (j, "mode", json_object_new_int (st.st_mode & 07777));
  json_object_object_add (j, "data", base64 (buf, n));
  free (buf);
  return json_object_array_add (arr, j);
}

/* Regular files under dir, recursively, whose name ends in suffix. */
static int
add_tree (json_object *arr, const char *dir, const char *suffix, bool deep)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  int r = 0;

  if (d == NULL)
    return 0;
  while (r == 0 && (e = readdir (d)) != NULL) {
    char path[4096];
    size_t nl = strlen (e->d_name), sl = strlen (suffix);
    struct stat st;

    if (e->d_name[0] == '.')
      continue;
    snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
    if (lstat (path, &st) == -1)
      continue;
    if (S_ISDIR (st.st_mode) && deep)
      r = add_tree (arr, path, suffix, deep);
    else if (S_ISREG (st.st_mode) && nl >= sl
             && strcmp (e->d_name + nl - sl, suffix) == 0)
      r = add_file (arr, path);
  }
  closedir (d);
  return r;
}

static const char *
state_name (int state)
{
  switch (state) {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
    default: return "shut off";
  }
}

static int
add_vms (json_object *arr, virConnectPtr conn)
{
  virDomainPtr *doms = NULL;
  int n = virConnectListAllDomains (conn, &doms,
                                    VIR_CONNECT_LIST_DOMAINS_PERSISTENT);

  if (n < 0) {
    set_error (0, "list VMs: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    char uuid[VIR_UUID_STRING_BUFLEN] = "";
    int state = 0, reason, autostart = 0;
    json_object *j = json_object_new_object ();

    virDomainGetUUIDString (doms[i], uuid);
    virDomainGetState (doms[i], &state, &reason, 0);
    virDomainGetAutostart (doms[i], &autostart);
    json_object_object_add (j, "name",
                            json_object_new_string (
                              virDomainGetName (doms[i])));
    json_object_object_add (j, "uuid", json_object_new_string (uuid));
    json_object_object_add (j, "state",
                            json_object_new_string (state_name (state)));
    json_object_object_add (j, "autostart",
                            json_object_new_boolean (autostart));
    json_object_array_add (arr, j);
    virDomainFree (doms[i]);
  }
  free (doms);
  return 0;
}

/* The CPU model from the capabilities' <host><cpu><model>. */
static json_object *
cpu_model (virConnectPtr conn)
{
  char *caps = virConnectGetCapabilities (conn);
  char *host = caps ? strstr (caps, "<host>") : NULL;
  char *m = host ? strstr (host, "<model>") : NULL;
  char *end = m ? strstr (m, "</model>") : NULL;
  json_object *j = m && end
    ? json_object_new_string_len (m + 7, (int) (end - m - 7))
    : json_object_new_string ("");

  free (caps);
  return j;
}

static json_object *
version_string (unsigned long v)
{
  char s[64];

  snprintf (s, sizeof s, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000,
            v % 1000);
  return json_object_new_string (s);
}

char *
host_capture (struct vm_host *h, bool with_values, size_t *values,
              size_t *unreadable)
{
  host_object_vector objs = empty_vector;
  json_object *root = json_object_new_object ();
  json_object *arr = json_object_new_array ();
  json_object *vms = json_object_new_array ();
  json_object *files = json_object_new_array ();
  char hostname[256] = "";
  unsigned long lib = 0, hv = 0;
  char *text = NULL;

  *values = *unreadable = 0;
  gethostname (hostname, sizeof hostname - 1);
  virConnectGetLibVersion (h->conn, &lib);
  virConnectGetVersion (h->conn, &hv);
  json_object_object_add (root, "format", json_object_new_int (1));
  json_object_object_add (root, "hostname", json_object_new_string (hostname));
  json_object_object_add (root, "libvirt", version_string (lib));
  json_object_object_add (root, "hypervisor", version_string (hv));
  json_object_object_add (root, "cpu", cpu_model (h->conn));
  json_object_object_add (root, "objects", arr);
  json_object_object_add (root, "vms", vms);
  json_object_object_add (root, "files", files);
  if (host_objects_list (h->conn, &objs) == -1)
    goto out;
  for (size_t i = 0; i < objs.len; i++) {
    *values += objs.ptr[i].has_value;
    *unreadable += objs.ptr[i].value_private;
    if (add_object (arr, &objs.ptr[i], with_values) == -1)
      goto out;
  }
  if (add_vms (vms, h->conn) == -1
      || add_tree (files, HOST_ETC_LIBVIRT, ".conf", false) == -1
      || add_tree (files, HOST_ETC_LIBVIRT "/hooks", "", true) == -1
      || add_file (files, HOST_GUESTS_DEFAULTS) == -1)
    goto out;
  text = strdup (
    json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY));
  if (text == NULL)
    set_error (ENOMEM, "host configuration");
out:
  host_object_vector_free (&objs);
  json_object_put (root);
  return text;
}
