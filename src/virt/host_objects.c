/* The kinds of host object, in restore order, and what they share
 * (host_objects.h). */
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "common/strbuf.h"
#include "host_objects.h"

static const struct host_kind_ops *const kinds[HK_COUNT] = {
  [HK_SECRET] = &host_secret_ops,
  [HK_NETWORK] = &host_network_ops,
  [HK_POOL] = &host_pool_ops,
  [HK_NWFILTER] = &host_nwfilter_ops,
  [HK_NWFILTER_BINDING] = &host_binding_ops,
  [HK_INTERFACE] = &host_interface_ops,
  [HK_NODEDEV] = &host_nodedev_ops,
};

const struct host_kind_ops *
host_kind (enum host_kind k)
{
  return kinds[k];
}

int
host_kind_by_name (const char *name)
{
  for (int k = 0; k < HK_COUNT; k++)
    if (strcmp (kinds[k]->name, name) == 0)
      return k;
  return -1;
}

bool
host_list_unsupported (void)
{
  return virGetLastErrorCode () == VIR_ERR_NO_SUPPORT;
}

int
host_objects_list (virConnectPtr conn, host_object_vector *out)
{
  for (int k = 0; k < HK_COUNT; k++)
    if (kinds[k]->list (conn, out) == -1)
      return -1;
  return 0;
}

void
host_object_free (struct host_object *o)
{
  free (o->name);
  free (o->xml);
  if (o->value) {
    /* A secret's value: not left in freed memory. */
    memset (o->value, 0, o->value_len);
    free (o->value);
  }
  memset (o, 0, sizeof *o);
}

void
host_object_vector_free (host_object_vector *v)
{
  for (size_t i = 0; i < v->len; i++)
    host_object_free (&v->ptr[i]);
  free (v->ptr);
  memset (v, 0, sizeof *v);
}

/* Lines that say what a host made up or measured, not what the admin
 * defined: UUIDs and generated MAC addresses (networks and filters get
 * fresh ones), a pool's sizes and its directory's permissions (read
 * from the directory once the pool runs). */
static const char *const made_up[] = {
  "<uuid>", "<mac address=", "<capacity ", "<allocation ", "<available ", NULL
};

static bool
starts_with_any (const char *p, const char *const *prefixes)
{
  for (size_t i = 0; prefixes[i]; i++)
    if (strncmp (p, prefixes[i], strlen (prefixes[i])) == 0)
      return true;
  return false;
}

/* The definition without those lines (and the <permissions> block),
 * leading blanks dropped. */
static void
normalise (const char *xml, struct strbuf *out)
{
  bool in_permissions = false;

  while (*xml) {
    const char *end = strchr (xml, '\n');
    size_t len = end ? (size_t) (end - xml) : strlen (xml);
    const char *p = xml;

    while (p < xml + len && (*p == ' ' || *p == '\t'))
      p++;
    if (strncmp (p, "<permissions>", 13) == 0)
      in_permissions = true;
    if (!in_permissions && !starts_with_any (p, made_up))
      strbuf_add (out, p, len - (p - xml));
    if (strncmp (p, "</permissions>", 14) == 0)
      in_permissions = false;
    xml += len + (end != NULL);
  }
}

bool
host_xml_same (const char *a, const char *b)
{
  struct strbuf x = STRBUF_INIT, y = STRBUF_INIT;
  bool same;

  normalise (a, &x);
  normalise (b, &y);
  same = x.len == y.len && memcmp (x.buf, y.buf, x.len) == 0;
  strbuf_release (&x);
  strbuf_release (&y);
  return same;
}
