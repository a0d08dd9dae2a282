/* Host interfaces and node devices (host_objects.h).  Interfaces are
 * kept for the record: on Debian libvirt reads them from udev and
 * cannot define one (the network configuration is the distribution's).
 * Node devices: the persistent mediated devices are defined again,
 * with their autostart flag. */
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "common/error.h"
#include "conn.h"
#include "host_objects.h"

static int
interface_list (virConnectPtr conn, host_object_vector *out)
{
  virInterfacePtr *ifs = NULL;
  int n = virConnectListAllInterfaces (conn, &ifs, 0);
  int r = 0;

  if (n < 0 && host_list_unsupported ())
    return 0;
  if (n < 0) {
    set_error (0, "list interfaces: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    struct host_object o = { .kind = HK_INTERFACE };

    if (r == 0) {
      o.name = strdup (virInterfaceGetName (ifs[i]));
      o.active = virInterfaceIsActive (ifs[i]) == 1;
      o.xml = virInterfaceGetXMLDesc (ifs[i], VIR_INTERFACE_XML_INACTIVE);
      /* libvirt's test driver takes no flags here. */
      if (o.xml == NULL && virGetLastErrorCode () == VIR_ERR_INVALID_ARG)
        o.xml = virInterfaceGetXMLDesc (ifs[i], 0);
      if (o.name == NULL || o.xml == NULL
          || host_object_vector_append (out, o) == -1) {
        set_error (0, "interface %s: %s", o.name ? o.name : "?",
                   virt_error ());
        host_object_free (&o);
        r = -1;
      }
    }
    virInterfaceFree (ifs[i]);
  }
  free (ifs);
  return r;
}

static int
interface_lookup (virConnectPtr conn, const char *name, char **xml)
{
  virInterfacePtr i = virInterfaceLookupByName (conn, name);

  if (i == NULL)
    return 0;
  *xml = virInterfaceGetXMLDesc (i, VIR_INTERFACE_XML_INACTIVE);
  if (*xml == NULL && virGetLastErrorCode () == VIR_ERR_INVALID_ARG)
    *xml = virInterfaceGetXMLDesc (i, 0);
  if (*xml == NULL)
    set_error (0, "interface %s: %s", name, virt_error ());
  virInterfaceFree (i);
  return *xml ? 1 : -1;
}

const struct host_kind_ops host_interface_ops = {
  .name = "interface",
  .list = interface_list,
  .lookup = interface_lookup,
  .not_restored = "the host's network configuration defines interfaces, "
                  "not libvirt",
};

static int
nodedev_list (virConnectPtr conn, host_object_vector *out)
{
  virNodeDevicePtr *devs = NULL;
  /* Only mediated devices can be defined; the rest is hardware.  The
   * state flags ask for the inactive (defined, not started) ones too;
   * libvirt's test driver knows only the capability flag. */
  int n
    = virConnectListAllNodeDevices (conn, &devs,
                                    VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV
                                      | VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE
                                      | VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE);
  int r = 0;

  if (n < 0 && virGetLastErrorCode () == VIR_ERR_INVALID_ARG)
    n = virConnectListAllNodeDevices (conn, &devs,
                                      VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV);
  if (n < 0 && host_list_unsupported ())
    return 0;
  if (n < 0) {
    set_error (0, "list node devices: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    struct host_object o = { .kind = HK_NODEDEV };
    int autostart = 0;

    if (r == 0 && virNodeDeviceIsPersistent (devs[i]) == 1) {
      o.name = strdup (virNodeDeviceGetName (devs[i]));
      o.xml = virNodeDeviceGetXMLDesc (devs[i], 0);
      o.active = virNodeDeviceIsActive (devs[i]) == 1;
      o.autostart = virNodeDeviceGetAutostart (devs[i], &autostart) == 0
        && autostart;
      if (o.name == NULL || o.xml == NULL
          || host_object_vector_append (out, o) == -1) {
        set_error (0, "node device %s: %s", virNodeDeviceGetName (devs[i]),
                   virt_error ());
        host_object_free (&o);
        r = -1;
      }
    }
    virNodeDeviceFree (devs[i]);
  }
  free (devs);
  return r;
}

static int
nodedev_lookup (virConnectPtr conn, const char *name, char **xml)
{
  virNodeDevicePtr d = virNodeDeviceLookupByName (conn, name);

  if (d == NULL)
    return 0;
  *xml = virNodeDeviceGetXMLDesc (d, 0);
  if (*xml == NULL)
    set_error (0, "node device %s: %s", name, virt_error ());
  virNodeDeviceFree (d);
  return *xml ? 1 : -1;
}

static int
nodedev_define (virConnectPtr conn, const struct host_object *o)
{
  virNodeDevicePtr d = virNodeDeviceDefineXML (conn, o->xml, 0);
  const char *what = "autostart";

  if (d == NULL) {
    set_error (0, "define: %s", virt_error ());
    return -1;
  }
  if (virNodeDeviceSetAutostart (d, o->autostart) < 0)
    goto fail;
  what = "start";
  if (o->active && virNodeDeviceCreate (d, 0) < 0)
    goto fail;
  virNodeDeviceFree (d);
  return 0;
fail:
  set_error (0, "%s: %s", what, virt_error ());
  virNodeDeviceUndefine (d, 0);
  virNodeDeviceFree (d);
  return -1;
}

static int
nodedev_remove (virConnectPtr conn, const char *name)
{
  virNodeDevicePtr d = virNodeDeviceLookupByName (conn, name);
  int r = 0;

  if (d == NULL)
    return 0;
  if ((virNodeDeviceIsActive (d) == 1 && virNodeDeviceDestroy (d) < 0)
      || virNodeDeviceUndefine (d, 0) < 0) {
    set_error (0, "remove the existing node device: %s", virt_error ());
    r = -1;
  }
  virNodeDeviceFree (d);
  return r;
}

const struct host_kind_ops host_nodedev_ops = {
  .name = "nodedev",
  .list = nodedev_list,
  .lookup = nodedev_lookup,
  .define = nodedev_define,
  .remove = nodedev_remove,
};
