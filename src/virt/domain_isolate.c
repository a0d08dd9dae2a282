/* Isolating a restored VM's definition (see domain_isolate.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/error.h"
#include "domain_isolate.h"
#include "xml_util.h"

static bool
is (xmlNode *n, const char *name)
{
  return n->type == XML_ELEMENT_NODE
    && strcmp ((const char *) n->name, name) == 0;
}

static bool
type_is (xmlNode *n, const char *type)
{
  xmlChar *t = xmlGetProp (n, BAD_CAST "type");
  bool r = t && strcmp ((const char *) t, type) == 0;

  xmlFree (t);
  return r;
}

static void
drop_children (xmlNode *n, const char *name)
{
  xmlNode *c = n->children, *next;

  for (; c; c = next) {
    next = c->next;
    if (is (c, name)) {
      xmlUnlinkNode (c);
      xmlFreeNode (c);
    }
  }
}

static void
isolate_nic (xmlNode *nic, const char *network)
{
  static const char *host_bound[] = { "source",    "virtualport", "vlan",
                                      "bandwidth", "target",      "port",
                                      NULL };
  xmlNode *src;

  for (int i = 0; host_bound[i]; i++)
    drop_children (nic, host_bound[i]);
  xmlSetProp (nic, BAD_CAST "type", BAD_CAST "network");
  src = xmlNewChild (nic, NULL, BAD_CAST "source", NULL);
  xmlSetProp (src, BAD_CAST "network", BAD_CAST network);
}

/* A file's new place: DIR/ and the file's own name. */
static void
file_into (xmlNode *n, const char *prop, const char *dir)
{
  xmlChar *v = n ? xmlGetProp (n, BAD_CAST prop) : NULL;
  const char *base;
  char *nv;

  if (v == NULL)
    return;
  base = strrchr ((const char *) v, '/');
  base = base ? base + 1 : (const char *) v;
  if (asprintf (&nv, "%s/%s", dir, *base ? base : "chardev.log") != -1) {
    xmlSetProp (n, BAD_CAST prop, BAD_CAST nv);
    free (nv);
  }
  xmlFree (v);
}

static void
isolate_chardev (xmlNode *dev, const char *dir)
{
  xmlNode *src = xml_child (dev, "source");

  file_into (xml_child (dev, "log"), "file", dir);
  if (type_is (dev, "file"))
    file_into (src, "path", dir);
  else if (type_is (dev, "tcp") || type_is (dev, "udp")) {
    xmlSetProp (dev, BAD_CAST "type", BAD_CAST "pty");
    drop_children (dev, "source");
    drop_children (dev, "protocol");
  }
  else if (type_is (dev, "unix") && src)
    xmlUnsetProp (src, BAD_CAST "path");
}

static void
isolate_graphics (xmlNode *g)
{
  if (xmlHasProp (g, BAD_CAST "port") || xmlHasProp (g, BAD_CAST "autoport")) {
    xmlUnsetProp (g, BAD_CAST "port");
    xmlUnsetProp (g, BAD_CAST "tlsPort");
    xmlUnsetProp (g, BAD_CAST "websocket");
    xmlSetProp (g, BAD_CAST "autoport", BAD_CAST "yes");
  }
  xmlUnsetProp (g, BAD_CAST "socket");
}

char *
domain_xml_isolate (const char *xml, const char *network, const char *dir)
{
  xmlDoc *doc = xmlReadMemory (xml, strlen (xml), "domain.xml", NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR
                                 | XML_PARSE_NOWARNING);
  xmlNode *root = doc ? xmlDocGetRootElement (doc) : NULL;
  xmlNode *devices, *c, *next;
  xmlChar *out = NULL;
  char *r = NULL;
  int len;

  if (root == NULL || strcmp ((const char *) root->name, "domain") != 0) {
    set_error (0, "the restored VM's XML does not parse");
    xmlFreeDoc (doc);
    return NULL;
  }
  devices = xml_child (root, "devices");
  for (c = devices ? devices->children : NULL; c; c = next) {
    next = c->next;
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if ((is (c, "interface") && type_is (c, "hostdev")) || is (c, "hostdev")
        || is (c, "redirdev")) {
      xmlUnlinkNode (c);
      xmlFreeNode (c);
    }
    else if (is (c, "interface"))
      isolate_nic (c, network);
    else if (is (c, "serial") || is (c, "console") || is (c, "parallel")
             || is (c, "channel"))
      isolate_chardev (c, dir);
    else if (is (c, "graphics"))
      isolate_graphics (c);
  }
  xmlDocDumpMemory (doc, &out, &len);
  if (out)
    r = strdup ((const char *) out);
  if (r == NULL)
    set_error (0, "out of memory");
  xmlFree (out);
  xmlFreeDoc (doc);
  return r;
}
