/* Snapshot and checkpoint metadata (see snapshots.h). */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "conn.h"
#include "snapshots.h"

/* The disks the snapshot XML marks snapshot='internal', as " vda vdb ". */
static char *
internal_disks (const char *xml)
{
  struct strbuf sb = STRBUF_INIT;
  xmlDoc *doc = xmlReadMemory (xml, strlen (xml), "snapshot.xml", NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR
                                 | XML_PARSE_NOWARNING);
  xmlNode *root = doc ? xmlDocGetRootElement (doc) : NULL;

  strbuf_addstr (&sb, " ");
  for (xmlNode *c = root ? root->children : NULL; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE
        || strcmp ((const char *) c->name, "disks"))
      continue;
    for (xmlNode *d = c->children; d; d = d->next) {
      xmlChar *kind = d->type == XML_ELEMENT_NODE
        ? xmlGetProp (d, BAD_CAST "snapshot")
        : NULL;
      xmlChar *name = d->type == XML_ELEMENT_NODE
        ? xmlGetProp (d, BAD_CAST "name")
        : NULL;
      if (kind && name && strcmp ((const char *) kind, "internal") == 0)
        strbuf_addf (&sb, "%s ", (const char *) name);
      xmlFree (kind);
      xmlFree (name);
    }
  }
  xmlFreeDoc (doc);
  return strbuf_detach (&sb);
}

static int
append (vm_snapshot_vector *out, const char *name, char *xml, bool current,
        bool is_snapshot)
{
  struct vm_snapshot s = { .name = strdup (name),
                           .xml = xml,
                           .current = current,
                           .internal_disks = is_snapshot ? internal_disks (xml)
                                                         : strdup (" ") };

  if (s.name == NULL || s.internal_disks == NULL
      || vm_snapshot_vector_append (out, s) == -1) {
    free (s.name);
    free (s.internal_disks);
    free (xml);
    set_error (0, "out of memory");
    return -1;
  }
  return 0;
}

int
vm_snapshots_list (virDomainPtr dom, vm_snapshot_vector *out)
{
  virDomainSnapshotPtr *snaps = NULL;
  int n = virDomainListAllSnapshots (dom, &snaps,
                                     VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL);
  int r = 0;

  if (n < 0) {
    set_error (0, "list snapshots: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    char *xml = r == 0
      ? virDomainSnapshotGetXMLDesc (snaps[i], VIR_DOMAIN_SNAPSHOT_XML_SECURE)
      : NULL;
    if (r == 0 && xml == NULL) {
      set_error (0, "snapshot %s: %s", virDomainSnapshotGetName (snaps[i]),
                 virt_error ());
      r = -1;
    }
    if (r == 0)
      r = append (out, virDomainSnapshotGetName (snaps[i]), xml,
                  virDomainSnapshotIsCurrent (snaps[i], 0) == 1, true);
    virDomainSnapshotFree (snaps[i]);
  }
  free (snaps);
  return r;
}

int
vm_checkpoints_list (virDomainPtr dom, vm_snapshot_vector *out)
{
  virDomainCheckpointPtr *cps = NULL;
  int n = virDomainListAllCheckpoints (dom, &cps,
                                       VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL);
  int r = 0;

  if (n < 0) {
    set_error (0, "list checkpoints: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    char *xml = r == 0 ? virDomainCheckpointGetXMLDesc (cps[i], 0) : NULL;
    if (r == 0 && xml == NULL) {
      set_error (0, "checkpoint %s: %s", virDomainCheckpointGetName (cps[i]),
                 virt_error ());
      r = -1;
    }
    if (r == 0)
      r = append (out, virDomainCheckpointGetName (cps[i]), xml, false, false);
    virDomainCheckpointFree (cps[i]);
  }
  free (cps);
  return r;
}

void
vm_snapshots_free (vm_snapshot_vector *v)
{
  for (size_t i = 0; i < v->len; i++) {
    free (v->ptr[i].name);
    free (v->ptr[i].xml);
    free (v->ptr[i].internal_disks);
  }
  vm_snapshot_vector_reset (v);
}
