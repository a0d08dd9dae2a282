/* Domain XML rewriting (see domain_edit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/error.h"
#include "xml_util.h"
#include "domain_edit.h"

static void
remove_node (xmlNode *n)
{
  if (n) {
    xmlUnlinkNode (n);
    xmlFreeNode (n);
  }
}

/* disk becomes a qcow2 overlay on the raw NBD export at sock:
 *   <driver type='qcow2'/>, and after <source>:
 *   <backingStore type='network'><format type='raw'/>
 *     <source protocol='nbd'><host transport='unix' socket='SOCK'/>
 *     </source><backingStore/></backingStore> */
static void
add_nbd_backing (xmlNode *disk, xmlNode *source, const char *sock)
{
  xmlNode *driver = xml_child (disk, "driver"), *bs, *src, *host, *fmt;

  if (driver == NULL) {
    driver = xmlNewNode (NULL, BAD_CAST "driver");
    xmlAddPrevSibling (source, driver);
    xmlSetProp (driver, BAD_CAST "name", BAD_CAST "qemu");
  }
  xmlSetProp (driver, BAD_CAST "type", BAD_CAST "qcow2");
  bs = xmlNewNode (NULL, BAD_CAST "backingStore");
  xmlSetProp (bs, BAD_CAST "type", BAD_CAST "network");
  xmlAddNextSibling (source, bs);
  fmt = xmlNewChild (bs, NULL, BAD_CAST "format", NULL);
  xmlSetProp (fmt, BAD_CAST "type", BAD_CAST "raw");
  src = xmlNewChild (bs, NULL, BAD_CAST "source", NULL);
  xmlSetProp (src, BAD_CAST "protocol", BAD_CAST "nbd");
  host = xmlNewChild (src, NULL, BAD_CAST "host", NULL);
  xmlSetProp (host, BAD_CAST "transport", BAD_CAST "unix");
  xmlSetProp (host, BAD_CAST "socket", BAD_CAST sock);
  xmlNewChild (bs, NULL, BAD_CAST "backingStore", NULL);
}

static int
move_disk (xmlNode *disk, const struct domain_rewrite *rw)
{
  xmlNode *target = xml_child (disk, "target"),
          *source = xml_child (disk, "source");
  xmlChar *dev = target ? xmlGetProp (target, BAD_CAST "dev") : NULL;
  int r = 0;

  for (size_t i = 0; dev && i < rw->ndisks; i++) {
    if (strcmp ((const char *) dev, rw->disks[i].target) != 0)
      continue;
    if (source == NULL)
      source = xmlNewChild (disk, NULL, BAD_CAST "source", NULL);
    /* A restored disk is always an image file, whatever it was. */
    xmlSetProp (disk, BAD_CAST "type", BAD_CAST "file");
    xmlUnsetProp (source, BAD_CAST "dev");
    xmlSetProp (source, BAD_CAST "file", BAD_CAST rw->disks[i].path);
    /* The backing chain was read merged: the restored image has none. */
    remove_node (xml_child (disk, "backingStore"));
    if (rw->disks[i].nbd_socket)
      add_nbd_backing (disk, source, rw->disks[i].nbd_socket);
    break;
  }
  xmlFree (dev);
  return r;
}

/* A file a second VM must not share (console logs): NAME-<file> beside
 * the original. */
static void
rename_file_prop (xmlNode *n, const char *prop, const char *name)
{
  xmlChar *v = n ? xmlGetProp (n, BAD_CAST prop) : NULL;
  const char *slash;
  char *nv;

  if (v == NULL)
    return;
  slash = strrchr ((const char *) v, '/');
  if (asprintf (&nv, "%.*s%s-%s", slash ? (int) (slash - (char *) v + 1) : 0,
                (const char *) v, name, slash ? slash + 1 : (const char *) v)
      != -1) {
    xmlSetProp (n, BAD_CAST prop, BAD_CAST nv);
    free (nv);
  }
  xmlFree (v);
}

static void
move_char_device (xmlNode *dev, const char *name)
{
  xmlChar *type = xmlGetProp (dev, BAD_CAST "type");

  rename_file_prop (xml_child (dev, "log"), "file", name);
  if (type && strcmp ((const char *) type, "file") == 0)
    rename_file_prop (xml_child (dev, "source"), "path", name);
  xmlFree (type);
}

char *
domain_xml_rewrite (const char *xml, const struct domain_rewrite *rw)
{
  xmlDoc *doc = xmlReadMemory (xml, strlen (xml), "domain.xml", NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR
                                 | XML_PARSE_NOWARNING);
  xmlNode *root = doc ? xmlDocGetRootElement (doc) : NULL;
  xmlNode *devices, *os;
  xmlChar *out = NULL;
  char *r = NULL;
  int len;

  if (root == NULL || strcmp ((const char *) root->name, "domain") != 0) {
    set_error (0, "backed-up domain XML does not parse");
    xmlFreeDoc (doc);
    return NULL;
  }
  if (rw->name)
    xmlNodeSetContent (xml_child (root, "name"), BAD_CAST rw->name);
  if (rw->new_identity)
    remove_node (xml_child (root, "uuid"));
  os = xml_child (root, "os");
  if (rw->nvram && xml_child (os, "nvram"))
    xmlNodeSetContent (xml_child (os, "nvram"), BAD_CAST rw->nvram);
  devices = xml_child (root, "devices");
  for (xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (strcmp ((const char *) c->name, "disk") == 0)
      move_disk (c, rw);
    else if (rw->new_identity
             && strcmp ((const char *) c->name, "interface") == 0)
      remove_node (xml_child (c, "mac"));
    else if (rw->name
             && (strcmp ((const char *) c->name, "serial") == 0
                 || strcmp ((const char *) c->name, "console") == 0))
      move_char_device (c, rw->name);
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

char *
snapshot_xml_disk_only (const char *xml)
{
  xmlDoc *doc = xmlReadMemory (xml, strlen (xml), "snapshot.xml", NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR
                                 | XML_PARSE_NOWARNING);
  xmlNode *root = doc ? xmlDocGetRootElement (doc) : NULL, *state, *mem;
  xmlChar *out = NULL;
  char *r = NULL;
  int len;

  if (root == NULL) {
    set_error (0, "snapshot XML does not parse");
    xmlFreeDoc (doc);
    return NULL;
  }
  state = xml_child (root, "state");
  if (state)
    xmlNodeSetContent (state, BAD_CAST "shutoff");
  mem = xml_child (root, "memory");
  if (mem) {
    xmlSetProp (mem, BAD_CAST "snapshot", BAD_CAST "no");
    xmlUnsetProp (mem, BAD_CAST "file");
  }
  xmlDocDumpMemory (doc, &out, &len);
  r = out ? strdup ((const char *) out) : NULL;
  if (r == NULL)
    set_error (0, "out of memory");
  xmlFree (out);
  xmlFreeDoc (doc);
  return r;
}
