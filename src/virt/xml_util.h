/* Small libxml2 helpers shared by the domain XML readers and writers. */
#ifndef VMB_XML_UTIL_H
#define VMB_XML_UTIL_H

#include <string.h>

#include <libxml/tree.h>

/* The first child element called name, or NULL. */
static inline xmlNode *
xml_child (xmlNode *n, const char *name)
{
  for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && strcmp ((const char *) c->name, name) == 0)
      return c;
  return NULL;
}

#endif
