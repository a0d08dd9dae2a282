/* Parsing a host backup's document (host_document.h). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "common/error.h"
#include "host_capture.h"
#include "host_document.h"

static const char *
get_string (json_object *o, const char *key)
{
  json_object *v;

  if (!json_object_object_get_ex (o, key, &v)
      || !json_object_is_type (v, json_type_string))
    return NULL;
  return json_object_get_string (v);
}

static int
get_bool (json_object *o, const char *key)
{
  json_object *v;

  if (!json_object_object_get_ex (o, key, &v))
    return 0;
  return json_object_is_type (v, json_type_boolean)
    ? json_object_get_boolean (v)
    : -1;
}

/* Base64 to bytes (malloc'd); -1 if it is not base64. */
static int
unbase64 (const char *b64, unsigned char **out, size_t *len)
{
  size_t n = strlen (b64);
  int got;

  if (n % 4 != 0 || (*out = malloc (n / 4 * 3 + 1)) == NULL)
    return -1;
  got = n ? EVP_DecodeBlock (*out, (const unsigned char *) b64, (int) n) : 0;
  if (got < 0) {
    free (*out);
    return -1;
  }
  /* EVP_DecodeBlock counts the padding as zero bytes. */
  while (n && b64[n - 1] == '=' && got > 0)
    n--, got--;
  *len = got;
  return 0;
}

int
host_file_path_allowed (const char *path)
{
  static const char etc[] = HOST_ETC_LIBVIRT "/";

  if (strstr (path, "/../") || strstr (path, "/./") || strstr (path, "//"))
    return 0;
  if (strcmp (path, HOST_GUESTS_DEFAULTS) == 0)
    return 1;
  return strncmp (path, etc, sizeof etc - 1) == 0
    && path[sizeof etc - 1] != '\0'
    && strcmp (path + strlen (path) - 3, "/..") != 0;
}

static int
parse_object (json_object *j, size_t i, struct host_doc *doc)
{
  const char *kind = get_string (j, "kind"), *name = get_string (j, "name");
  const char *xml = get_string (j, "xml"), *value = get_string (j, "value");
  int k = kind ? host_kind_by_name (kind) : -1;
  int active = get_bool (j, "active"), autostart = get_bool (j, "autostart");
  struct host_object o = { .kind = k };

  if (k < 0 || name == NULL || *name == '\0' || xml == NULL || active < 0
      || autostart < 0) {
    set_error (0, "object %zu: a kind, name and xml are needed (kind %s)", i,
               kind ? kind : "missing");
    return -1;
  }
  o.active = active;
  o.autostart = autostart;
  if (value) {
    if (k != HK_SECRET || unbase64 (value, &o.value, &o.value_len) == -1) {
      set_error (0, "%s %s: a bad value", kind, name);
      return -1;
    }
    o.has_value = true;
  }
  o.name = strdup (name);
  o.xml = strdup (xml);
  if (o.name == NULL || o.xml == NULL
      || host_object_vector_append (&doc->objects, o) == -1) {
    host_object_free (&o);
    set_error (ENOMEM, "host document");
    return -1;
  }
  return 0;
}

static int
parse_file (json_object *j, size_t i, struct host_doc *doc)
{
  const char *path = get_string (j, "path"), *data = get_string (j, "data");
  json_object *mode;
  struct host_file f = { 0 };

  if (path == NULL || data == NULL
      || !json_object_object_get_ex (j, "mode", &mode)
      || !json_object_is_type (mode, json_type_int)) {
    set_error (0, "file %zu: a path, mode and data are needed", i);
    return -1;
  }
  if (!host_file_path_allowed (path)) {
    set_error (0, "file %s: not a path a host backup keeps", path);
    return -1;
  }
  f.mode = json_object_get_int (mode) & 07777;
  if (unbase64 (data, &f.data, &f.len) == -1) {
    set_error (0, "file %s: its data is not base64", path);
    return -1;
  }
  f.path = strdup (path);
  if (f.path == NULL || host_file_vector_append (&doc->files, f) == -1) {
    free (f.path);
    free (f.data);
    set_error (ENOMEM, "host document");
    return -1;
  }
  return 0;
}

static int
parse_vm (json_object *j, size_t i, struct host_doc *doc)
{
  const char *name = get_string (j, "name"), *state = get_string (j, "state");
  int autostart = get_bool (j, "autostart");
  struct host_vm vm = { 0 };

  if (name == NULL || *name == '\0' || state == NULL || autostart < 0) {
    set_error (0, "VM %zu: a name and a state are needed", i);
    return -1;
  }
  vm.name = strdup (name);
  vm.state = strdup (state);
  vm.autostart = autostart;
  if (vm.name == NULL || vm.state == NULL
      || host_vm_vector_append (&doc->vms, vm) == -1) {
    free (vm.name);
    free (vm.state);
    set_error (ENOMEM, "host document");
    return -1;
  }
  return 0;
}

static int
by_kind (const void *a, const void *b)
{
  const struct host_object *x = a, *y = b;

  return (int) x->kind - (int) y->kind;
}

int
host_doc_parse (const char *text, size_t len, struct host_doc *doc)
{
  json_tokener *tok = json_tokener_new ();
  json_object *root = tok ? json_tokener_parse_ex (tok, text, (int) len)
                          : NULL;
  json_object *objs, *files, *vms, *format;
  int r = -1;

  if (tok)
    json_tokener_free (tok);
  if (root == NULL || !json_object_is_type (root, json_type_object)) {
    set_error (0, "the host document is not JSON");
    goto out;
  }
  if (!json_object_object_get_ex (root, "format", &format)
      || json_object_get_int (format) != 1) {
    set_error (0, "the host document is not of format 1");
    goto out;
  }
  if (!json_object_object_get_ex (root, "objects", &objs)
      || !json_object_is_type (objs, json_type_array)
      || !json_object_object_get_ex (root, "files", &files)
      || !json_object_is_type (files, json_type_array)) {
    set_error (0, "the host document has no objects or files list");
    goto out;
  }
  doc->hostname = strdup (get_string (root, "hostname") ?: "");
  if (json_object_object_get_ex (root, "vms", &vms)
      && json_object_is_type (vms, json_type_array))
    for (size_t i = 0; i < json_object_array_length (vms); i++)
      if (parse_vm (json_object_array_get_idx (vms, i), i, doc) == -1)
        goto out;
  for (size_t i = 0; i < json_object_array_length (objs); i++)
    if (parse_object (json_object_array_get_idx (objs, i), i, doc) == -1)
      goto out;
  for (size_t i = 0; i < json_object_array_length (files); i++)
    if (parse_file (json_object_array_get_idx (files, i), i, doc) == -1)
      goto out;
  /* Restore order whatever order a writer used (stable for equal kinds
   * is not needed: objects of one kind do not depend on each other). */
  if (doc->objects.len)
    qsort (doc->objects.ptr, doc->objects.len, sizeof doc->objects.ptr[0],
           by_kind);
  r = 0;
out:
  json_object_put (root);
  return r;
}

void
host_doc_free (struct host_doc *doc)
{
  free (doc->hostname);
  host_object_vector_free (&doc->objects);
  for (size_t i = 0; i < doc->files.len; i++) {
    free (doc->files.ptr[i].path);
    free (doc->files.ptr[i].data);
  }
  free (doc->files.ptr);
  for (size_t i = 0; i < doc->vms.len; i++) {
    free (doc->vms.ptr[i].name);
    free (doc->vms.ptr[i].state);
  }
  free (doc->vms.ptr);
  memset (doc, 0, sizeof *doc);
}
