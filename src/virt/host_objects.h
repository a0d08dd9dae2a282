/* The host-wide libvirt objects a host backup keeps (secrets, networks,
 * storage pools, network filters and their bindings, interfaces, node
 * devices): listed with their definitions and state, looked up, defined
 * again, removed.  Each kind is a struct of operations (host_kinds_*.c),
 * so nothing else switches on the kind. */
#ifndef VMB_HOST_OBJECTS_H
#define VMB_HOST_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include <libvirt/libvirt.h>

#include "common/vector.h"

/* In the order a restore defines them: secrets first (pools and disks
 * name them), then networks, pools, filters before their bindings. */
enum host_kind {
  HK_SECRET,
  HK_NETWORK,
  HK_POOL,
  HK_NWFILTER,
  HK_NWFILTER_BINDING,
  HK_INTERFACE,
  HK_NODEDEV,
  HK_COUNT
};

struct host_object {
  enum host_kind kind;
  char *name;         /* a secret's UUID, a binding's port device */
  char *xml;          /* the persistent definition (secure, inactive) */
  bool active;        /* running (networks, pools, interfaces, devices) */
  bool autostart;     /* started with the host */
  bool has_value;     /* secrets: a value was read */
  bool value_private; /* secrets: libvirt will not give the value */
  unsigned char *value;
  size_t value_len;
};
DEFINE_VECTOR_TYPE (host_object_vector, struct host_object);

struct host_kind_ops {
  const char *name; /* "network", as events and the JSON say it */
  /* Append every object of the kind; -1 with the error set. */
  int (*list) (virConnectPtr conn, host_object_vector *out);
  /* 1 and *xml (malloc'd) when it exists, 0 when not, -1 on error. */
  int (*lookup) (virConnectPtr conn, const char *name, char **xml);
  /* Define it (and its value), set autostart, start it if it was
   * active; -1 with the error set, leaving nothing defined. */
  int (*define) (virConnectPtr conn, const struct host_object *o);
  /* Stop and undefine it (for --replace). */
  int (*remove) (virConnectPtr conn, const char *name);
  /* Why the kind is not defined again, or NULL (bindings come back
   * with their VMs). */
  const char *not_restored;
};

extern const struct host_kind_ops host_secret_ops, host_network_ops,
  host_pool_ops, host_nwfilter_ops, host_binding_ops, host_interface_ops,
  host_nodedev_ops;

const struct host_kind_ops *host_kind (enum host_kind k);
/* The kind called name, or -1. */
int host_kind_by_name (const char *name);

/* After a failed list call: whether the driver has no such objects at
 * all (libvirt's test driver, a build without the network driver),
 * which is an empty list, not an error. */
bool host_list_unsupported (void);

/* Every object of every kind, in restore order. */
int host_objects_list (virConnectPtr conn, host_object_vector *out);
void host_object_free (struct host_object *o);
void host_object_vector_free (host_object_vector *v);

/* Whether two definitions say the same once what libvirt makes up per
 * host (UUIDs, generated MAC addresses) is left out. */
bool host_xml_same (const char *a, const char *b);

#endif
