/* Network filters and their bindings (host_objects.h).  A binding ties
 * a filter to a running VM's port: libvirt makes it again when the VM
 * starts, so it is kept for the record and not defined by a restore. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "conn.h"
#include "host_objects.h"

static int
keep (host_object_vector *out, enum host_kind kind, const char *name,
      char *xml)
{
  struct host_object o = { .kind = kind, .name = strdup (name), .xml = xml };

  if (xml == NULL) {
    set_error (0, "%s %s: %s", host_kind (kind)->name, name, virt_error ());
    free (o.name);
    return -1;
  }
  if (o.name == NULL || host_object_vector_append (out, o) == -1) {
    set_error (ENOMEM, "%s", name);
    host_object_free (&o);
    return -1;
  }
  return 0;
}

static int
nwfilter_list (virConnectPtr conn, host_object_vector *out)
{
  virNWFilterPtr *f = NULL;
  int n = virConnectListAllNWFilters (conn, &f, 0);
  int r = 0;

  if (n < 0 && host_list_unsupported ())
    return 0;
  if (n < 0) {
    set_error (0, "list network filters: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    /* Each libvirt call resets its last error: the name first. */
    const char *name = virNWFilterGetName (f[i]);
    if (r == 0)
      r = keep (out, HK_NWFILTER, name, virNWFilterGetXMLDesc (f[i], 0));
    virNWFilterFree (f[i]);
  }
  free (f);
  return r;
}

static int
nwfilter_lookup (virConnectPtr conn, const char *name, char **xml)
{
  virNWFilterPtr f = virNWFilterLookupByName (conn, name);

  if (f == NULL)
    return 0;
  *xml = virNWFilterGetXMLDesc (f, 0);
  if (*xml == NULL)
    set_error (0, "network filter %s: %s", name, virt_error ());
  virNWFilterFree (f);
  return *xml ? 1 : -1;
}

static int
nwfilter_define (virConnectPtr conn, const struct host_object *o)
{
  virNWFilterPtr f = virNWFilterDefineXML (conn, o->xml);

  if (f == NULL) {
    set_error (0, "define: %s", virt_error ());
    return -1;
  }
  virNWFilterFree (f);
  return 0;
}

static int
nwfilter_remove (virConnectPtr conn, const char *name)
{
  virNWFilterPtr f = virNWFilterLookupByName (conn, name);
  int r = 0;

  if (f == NULL)
    return 0;
  if (virNWFilterUndefine (f) < 0) {
    set_error (0, "remove the existing filter: %s", virt_error ());
    r = -1;
  }
  virNWFilterFree (f);
  return r;
}

const struct host_kind_ops host_nwfilter_ops = {
  .name = "nwfilter",
  .list = nwfilter_list,
  .lookup = nwfilter_lookup,
  .define = nwfilter_define,
  .remove = nwfilter_remove,
};

static int
binding_list (virConnectPtr conn, host_object_vector *out)
{
  virNWFilterBindingPtr *b = NULL;
  int n = virConnectListAllNWFilterBindings (conn, &b, 0);
  int r = 0;

  if (n < 0 && host_list_unsupported ())
    return 0;
  if (n < 0) {
    set_error (0, "list network filter bindings: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    if (r == 0)
      r = keep (out, HK_NWFILTER_BINDING, virNWFilterBindingGetPortDev (b[i]),
                virNWFilterBindingGetXMLDesc (b[i], 0));
    virNWFilterBindingFree (b[i]);
  }
  free (b);
  return r;
}

static int
binding_lookup (virConnectPtr conn, const char *name, char **xml)
{
  virNWFilterBindingPtr b = virNWFilterBindingLookupByPortDev (conn, name);

  if (b == NULL)
    return 0;
  *xml = virNWFilterBindingGetXMLDesc (b, 0);
  if (*xml == NULL)
    set_error (0, "filter binding %s: %s", name, virt_error ());
  virNWFilterBindingFree (b);
  return *xml ? 1 : -1;
}

const struct host_kind_ops host_binding_ops = {
  .name = "nwfilter-binding",
  .list = binding_list,
  .lookup = binding_lookup,
  .not_restored = "libvirt binds the filter again when its VM starts",
};
