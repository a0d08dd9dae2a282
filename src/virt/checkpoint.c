/* vmbackup's libvirt checkpoints (see checkpoint.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/strbuf.h"
#include "conn.h"
#include "checkpoint.h"
#include "xml_util.h"

#define DESCRIPTION_MAGIC "vmbackup "

void
vm_checkpoint_release (struct vm_checkpoint *c)
{
  free (c->name);
  free (c->repository);
  free (c->backup);
  free (c->bitmap_disks);
  memset (c, 0, sizeof *c);
}

void
vm_checkpoint_vector_free (vm_checkpoint_vector *v)
{
  for (size_t i = 0; i < v->len; i++)
    vm_checkpoint_release (&v->ptr[i]);
  vm_checkpoint_vector_reset (v);
}

/* "vmbackup repository=R backup=B": the value of key, malloc'd. */
static char *
description_value (const char *desc, const char *key)
{
  size_t klen = strlen (key);
  const char *p;

  if (strncmp (desc, DESCRIPTION_MAGIC, strlen (DESCRIPTION_MAGIC)) != 0)
    return NULL;
  for (p = desc; (p = strstr (p, key)) != NULL; p += klen)
    if ((p == desc || p[-1] == ' ') && p[klen] == '=')
      return strndup (p + klen + 1, strcspn (p + klen + 1, " \n"));
  return NULL;
}

static int
parse_checkpoint_xml (const char *xml, struct vm_checkpoint *c)
{
  xmlDoc *doc = xmlReadMemory (xml, strlen (xml), "checkpoint.xml", NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR
                                 | XML_PARSE_NOWARNING);
  xmlNode *root = doc ? xmlDocGetRootElement (doc) : NULL;
  struct strbuf disks = STRBUF_INIT;
  CLEANUP_FREE char *desc = NULL, *created = NULL;

  if (root == NULL) {
    xmlFreeDoc (doc);
    set_error (0, "checkpoint XML cannot be parsed");
    return -1;
  }
  desc = xml_text (xml_child (root, "description"));
  created = xml_text (xml_child (root, "creationTime"));
  if (desc) {
    c->repository = description_value (desc, "repository");
    c->backup = description_value (desc, "backup");
  }
  c->created = created ? atoll (created) : 0;
  strbuf_addstr (&disks, " ");
  for (xmlNode *d = xml_child (root, "disks")
         ? xml_child (root, "disks")->children
         : NULL;
       d; d = d->next) {
    xmlChar *kind, *name;
    if (d->type != XML_ELEMENT_NODE)
      continue;
    kind = xmlGetProp (d, BAD_CAST "checkpoint");
    name = xmlGetProp (d, BAD_CAST "name");
    if (kind && name && strcmp ((const char *) kind, "bitmap") == 0)
      strbuf_addf (&disks, "%s ", (const char *) name);
    xmlFree (kind);
    xmlFree (name);
  }
  c->bitmap_disks = strbuf_detach (&disks);
  xmlFreeDoc (doc);
  return 0;
}

static int
describe (virDomainCheckpointPtr cp, struct vm_checkpoint *out)
{
  char *xml
    = virDomainCheckpointGetXMLDesc (cp, VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN);
  int r;

  memset (out, 0, sizeof *out);
  if (xml == NULL) {
    set_error (0, "checkpoint %s: %s", virDomainCheckpointGetName (cp),
               virt_error ());
    return -1;
  }
  out->name = strdup (virDomainCheckpointGetName (cp));
  r = parse_checkpoint_xml (xml, out);
  free (xml);
  if (r == -1 || out->name == NULL) {
    vm_checkpoint_release (out);
    return -1;
  }
  return 0;
}

/* 1 with *cp set, 0 when there is no such checkpoint, -1 on error. */
static int
lookup (virDomainPtr dom, const char *name, virDomainCheckpointPtr *cp)
{
  *cp = virDomainCheckpointLookupByName (dom, name, 0);
  if (*cp == NULL) {
    virErrorPtr e = virGetLastError ();
    if (e && e->code == VIR_ERR_NO_DOMAIN_CHECKPOINT)
      return 0;
    set_error (0, "checkpoint %s: %s", name, virt_error ());
    return -1;
  }
  return 1;
}

int
vm_checkpoint_get (virDomainPtr dom, const char *name,
                   struct vm_checkpoint *out)
{
  virDomainCheckpointPtr cp;
  int r = lookup (dom, name, &cp);

  if (r != 1)
    return r;
  r = describe (cp, out);
  virDomainCheckpointFree (cp);
  return r == 0 ? 1 : -1;
}

static int
by_creation (const void *a, const void *b)
{
  const struct vm_checkpoint *x = a, *y = b;

  if (x->created != y->created)
    return x->created < y->created ? -1 : 1;
  return strcmp (x->name, y->name);
}

int
vm_checkpoints_of_repository (virDomainPtr dom, const char *repository,
                              vm_checkpoint_vector *out)
{
  virDomainCheckpointPtr *cps = NULL;
  int n = virDomainListAllCheckpoints (dom, &cps, 0);
  int r = 0;

  if (n < 0) {
    set_error (0, "list checkpoints: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    struct vm_checkpoint c;
    if (r == 0
        && strncmp (virDomainCheckpointGetName (cps[i]), CHECKPOINT_PREFIX,
                    strlen (CHECKPOINT_PREFIX))
          == 0) {
      r = describe (cps[i], &c);
      if (r == 0
          && (c.repository == NULL || strcmp (c.repository, repository) != 0))
        vm_checkpoint_release (&c);
      else if (r == 0 && vm_checkpoint_vector_append (out, c) == -1) {
        vm_checkpoint_release (&c);
        set_error (0, "out of memory");
        r = -1;
      }
    }
    virDomainCheckpointFree (cps[i]);
  }
  free (cps);
  if (r == 0 && out->len > 1)
    qsort (out->ptr, out->len, sizeof *out->ptr, by_creation);
  return r;
}

char *
vm_checkpoint_name (const char *repository, const char *backup_id)
{
  const char *stamp = strchr (backup_id, '/');
  char *s;

  if (asprintf (&s, CHECKPOINT_PREFIX "%.8s.%s", repository,
                stamp ? stamp + 1 : backup_id)
      == -1)
    return NULL;
  return s;
}

char *
vm_checkpoint_xml (const char *name, const char *repository,
                   const char *backup_id, const struct domain_info *info,
                   const bool *with_bitmap)
{
  struct strbuf sb = STRBUF_INIT;

  strbuf_addstr (&sb, "<domaincheckpoint><name>");
  xml_add_escaped (&sb, name);
  strbuf_addstr (&sb, "</name><description>" DESCRIPTION_MAGIC "repository=");
  xml_add_escaped (&sb, repository);
  strbuf_addstr (&sb, " backup=");
  xml_add_escaped (&sb, backup_id);
  strbuf_addstr (&sb, "</description><disks>");
  for (size_t i = 0; i < info->disks.len; i++) {
    const struct vm_disk *d = &info->disks.ptr[i];
    if (strcmp (d->device, "hostdev") == 0)
      continue;
    strbuf_addstr (&sb, "<disk name='");
    xml_add_escaped (&sb, d->target);
    strbuf_addstr (&sb,
                   with_bitmap[i] ? "' checkpoint='bitmap'/>"
                                  : "' checkpoint='no'/>");
  }
  strbuf_addstr (&sb, "</disks></domaincheckpoint>");
  return strbuf_detach (&sb);
}

int
vm_checkpoint_delete (virDomainPtr dom, const char *name)
{
  virDomainCheckpointPtr cp;
  int r = lookup (dom, name, &cp);

  if (r != 1)
    return r;
  r = virDomainCheckpointDelete (cp, 0);
  if (r == -1)
    /* The bitmaps are gone or unreadable (an image replaced, a VM that
     * crashed): what is left to remove is libvirt's record. */
    r = virDomainCheckpointDelete (cp,
                                   VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY);
  if (r == -1)
    set_error (0, "delete checkpoint %s: %s", name, virt_error ());
  virDomainCheckpointFree (cp);
  return r;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * since boot. */
static int
process_start (long pid, unsigned long long *start)
{
  char path[64], buf[1024];
  FILE *f;
  size_t n;
  char *p;

  snprintf (path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen (path, "re");
  if (f == NULL)
    return -1;
  n = fread (buf, 1, sizeof buf - 1, f);
  fclose (f);
  buf[n] = '\0';
  p = strrchr (buf, ')'); /* the command name may hold spaces */
  if (p == NULL)
    return -1;
  for (int field = 2; field < 22; field++) {
    p = strchr (p + 1, ' ');
    if (p == NULL)
      return -1;
  }
  *start = strtoull (p + 1, NULL, 10);
  return 0;
}

static int
read_line (const char *path, char *buf, size_t size)
{
  FILE *f = fopen (path, "re");

  if (f == NULL)
    return -1;
  if (fgets (buf, size, f) == NULL) {
    fclose (f);
    return -1;
  }
  fclose (f);
  buf[strcspn (buf, "\n")] = '\0';
  return 0;
}

char *
vm_run_identity (virDomainPtr dom)
{
  char path[512], pidbuf[32], boot[64];
  unsigned long long start;
  long pid;
  int id = virDomainGetID (dom);
  char *s = NULL;

  if (virDomainIsActive (dom) != 1)
    return NULL;
  /* libvirt's system instance keeps the qemu process's PID here; a
   * process is unique by boot, PID and start time. */
  snprintf (path, sizeof path, "/run/libvirt/qemu/%s.pid",
            virDomainGetName (dom));
  if (read_line (path, pidbuf, sizeof pidbuf) == 0 && (pid = atol (pidbuf)) > 0
      && process_start (pid, &start) == 0
      && read_line ("/proc/sys/kernel/random/boot_id", boot, sizeof boot)
        == 0) {
    if (asprintf (&s, "%s:%ld:%llu", boot, pid, start) == -1)
      s = NULL;
  }
  else if (asprintf (&s, "id:%d", id) == -1)
    s = NULL;
  return s;
}
