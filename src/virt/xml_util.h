/* Small libxml2 helpers shared by the domain XML readers and writers. */
#ifndef VMB_XML_UTIL_H
#define VMB_XML_UTIL_H

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "common/strbuf.h"

/* The first child element called name, or NULL. */
static inline xmlNode *
xml_child (xmlNode *n, const char *name)
{
  for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE
        && strcmp ((const char *) c->name, name) == 0)
      return c;
  return NULL;
}

/* The text content of n (malloc'd), or NULL. */
static inline char *
xml_text (xmlNode *n)
{
  xmlChar *v = n ? xmlNodeGetContent (n) : NULL;
  char *r = v ? strdup ((const char *) v) : NULL;

  xmlFree (v);
  return r;
}

/* Append s escaped for an XML attribute or text. */
static inline void
xml_add_escaped (struct strbuf *sb, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
      case '&': strbuf_addstr (sb, "&amp;"); break;
      case '<': strbuf_addstr (sb, "&lt;"); break;
      case '>': strbuf_addstr (sb, "&gt;"); break;
      case '\'': strbuf_addstr (sb, "&apos;"); break;
      case '"': strbuf_addstr (sb, "&quot;"); break;
      default: strbuf_add (sb, s, 1);
    }
  }
}

#endif
