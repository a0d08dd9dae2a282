/* Networks and storage pools: persistent definitions with a running
 * state and an autostart flag (host_objects.h). */
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "common/error.h"
#include "conn.h"
#include "host_objects.h"

static int
append (host_object_vector *out, enum host_kind kind, const char *name,
        char *xml, int active, int autostart)
{
  struct host_object o = { .kind = kind,
                           .name = strdup (name),
                           .xml = xml,
                           .active = active == 1,
                           .autostart = autostart == 1 };

  if (o.name == NULL || host_object_vector_append (out, o) == -1) {
    host_object_free (&o);
    set_error (ENOMEM, "%s", name);
    return -1;
  }
  return 0;
}

/* ---- networks ---- */

static int
network_list (virConnectPtr conn, host_object_vector *out)
{
  virNetworkPtr *nets = NULL;
  int n = virConnectListAllNetworks (conn, &nets,
                                     VIR_CONNECT_LIST_NETWORKS_PERSISTENT);
  int r = 0;

  if (n < 0 && host_list_unsupported ())
    return 0;
  if (n < 0) {
    set_error (0, "list networks: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    /* Each libvirt call resets its last error: the name first. */
    const char *name = virNetworkGetName (nets[i]);
    int autostart = 0;
    char *xml = NULL;

    if (r == 0) {
      xml = virNetworkGetXMLDesc (nets[i], VIR_NETWORK_XML_INACTIVE);
      /* libvirt's test driver takes no flags here. */
      if (xml == NULL && virGetLastErrorCode () == VIR_ERR_INVALID_ARG)
        xml = virNetworkGetXMLDesc (nets[i], 0);
      if (xml == NULL || virNetworkGetAutostart (nets[i], &autostart) < 0) {
        set_error (0, "network %s: %s", name, virt_error ());
        free (xml);
        r = -1;
      }
      else
        r = append (out, HK_NETWORK, name, xml, virNetworkIsActive (nets[i]),
                    autostart);
    }
    virNetworkFree (nets[i]);
  }
  free (nets);
  return r;
}

static int
network_lookup (virConnectPtr conn, const char *name, char **xml)
{
  virNetworkPtr net = virNetworkLookupByName (conn, name);

  if (net == NULL)
    return 0;
  *xml = virNetworkGetXMLDesc (net, VIR_NETWORK_XML_INACTIVE);
  if (*xml == NULL && virGetLastErrorCode () == VIR_ERR_INVALID_ARG)
    *xml = virNetworkGetXMLDesc (net, 0);
  if (*xml == NULL)
    set_error (0, "network %s: %s", name, virt_error ());
  virNetworkFree (net);
  return *xml ? 1 : -1;
}

static int
network_define (virConnectPtr conn, const struct host_object *o)
{
  virNetworkPtr net = virNetworkDefineXML (conn, o->xml);
  const char *what = "define";

  if (net == NULL)
    goto fail;
  what = "autostart";
  if (virNetworkSetAutostart (net, o->autostart) < 0)
    goto fail_undefine;
  what = "start";
  if (o->active && virNetworkCreate (net) < 0)
    goto fail_undefine;
  virNetworkFree (net);
  return 0;
fail_undefine:
  set_error (0, "%s: %s", what, virt_error ());
  virNetworkUndefine (net);
  virNetworkFree (net);
  return -1;
fail:
  set_error (0, "%s: %s", what, virt_error ());
  return -1;
}

static int
network_remove (virConnectPtr conn, const char *name)
{
  virNetworkPtr net = virNetworkLookupByName (conn, name);
  int r = 0;

  if (net == NULL)
    return 0;
  if (virNetworkIsActive (net) == 1 && virNetworkDestroy (net) < 0)
    r = -1;
  if (r == 0 && virNetworkUndefine (net) < 0)
    r = -1;
  if (r == -1)
    set_error (0, "remove the existing network: %s", virt_error ());
  virNetworkFree (net);
  return r;
}

const struct host_kind_ops host_network_ops = {
  .name = "network",
  .list = network_list,
  .lookup = network_lookup,
  .define = network_define,
  .remove = network_remove,
};

/* ---- storage pools (definitions; the volumes' data is not kept) ---- */

static int
pool_list (virConnectPtr conn, host_object_vector *out)
{
  virStoragePoolPtr *pools = NULL;
  int n = virConnectListAllStoragePools (
    conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_PERSISTENT);
  int r = 0;

  if (n < 0 && host_list_unsupported ())
    return 0;
  if (n < 0) {
    set_error (0, "list storage pools: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    const char *name = virStoragePoolGetName (pools[i]);
    int autostart = 0;
    char *xml = NULL;

    if (r == 0) {
      xml = virStoragePoolGetXMLDesc (pools[i], VIR_STORAGE_XML_INACTIVE);
      if (xml == NULL && virGetLastErrorCode () == VIR_ERR_INVALID_ARG)
        xml = virStoragePoolGetXMLDesc (pools[i], 0);
      if (xml == NULL
          || virStoragePoolGetAutostart (pools[i], &autostart) < 0) {
        set_error (0, "storage pool %s: %s", name, virt_error ());
        free (xml);
        r = -1;
      }
      else
        r = append (out, HK_POOL, name, xml, virStoragePoolIsActive (pools[i]),
                    autostart);
    }
    virStoragePoolFree (pools[i]);
  }
  free (pools);
  return r;
}

static int
pool_lookup (virConnectPtr conn, const char *name, char **xml)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (conn, name);

  if (pool == NULL)
    return 0;
  *xml = virStoragePoolGetXMLDesc (pool, VIR_STORAGE_XML_INACTIVE);
  if (*xml == NULL && virGetLastErrorCode () == VIR_ERR_INVALID_ARG)
    *xml = virStoragePoolGetXMLDesc (pool, 0);
  if (*xml == NULL)
    set_error (0, "storage pool %s: %s", name, virt_error ());
  virStoragePoolFree (pool);
  return *xml ? 1 : -1;
}

/* Start a pool; a directory pool whose directory is gone (a fresh host)
 * is built first (a directory's build is a mkdir).  Only a directory
 * pool: building a disk or LVM pool writes a partition table or a volume
 * group over what is there. */
static int
pool_start (virStoragePoolPtr pool, const char *xml)
{
  if (virStoragePoolCreate (pool, 0) == 0)
    return 0;
  if (strstr (xml, "<pool type='dir'>") == NULL)
    return -1;
  if (virStoragePoolBuild (pool, 0) < 0)
    return -1;
  return virStoragePoolCreate (pool, 0);
}

static int
pool_define (virConnectPtr conn, const struct host_object *o)
{
  virStoragePoolPtr pool = virStoragePoolDefineXML (conn, o->xml, 0);
  const char *what = "define";

  if (pool == NULL) {
    set_error (0, "%s: %s", what, virt_error ());
    return -1;
  }
  what = "autostart";
  if (virStoragePoolSetAutostart (pool, o->autostart) < 0)
    goto fail;
  what = "start";
  if (o->active && pool_start (pool, o->xml) < 0)
    goto fail;
  virStoragePoolFree (pool);
  return 0;
fail:
  set_error (0, "%s: %s", what, virt_error ());
  virStoragePoolUndefine (pool);
  virStoragePoolFree (pool);
  return -1;
}

static int
pool_remove (virConnectPtr conn, const char *name)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (conn, name);
  int r = 0;

  if (pool == NULL)
    return 0;
  if (virStoragePoolIsActive (pool) == 1 && virStoragePoolDestroy (pool) < 0)
    r = -1;
  if (r == 0 && virStoragePoolUndefine (pool) < 0)
    r = -1;
  if (r == -1)
    set_error (0, "remove the existing storage pool: %s", virt_error ());
  virStoragePoolFree (pool);
  return r;
}

const struct host_kind_ops host_pool_ops = {
  .name = "pool",
  .list = pool_list,
  .lookup = pool_lookup,
  .define = pool_define,
  .remove = pool_remove,
};
