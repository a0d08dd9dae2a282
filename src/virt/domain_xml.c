/* Domain XML parsing and disk classification (see domain_xml.h).
 *
 * The classification follows DESIGN section 1: the host reads what it
 * owns (file and block disks), and leaves to an in-guest backup what it
 * cannot read consistently or at all: pass-through LUNs and SCSI
 * hostdevs (the guest drives the device), network disks such as iSCSI
 * LUNs (owned by a storage system), and <shareable/> disks (other hosts
 * write them while we read). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "common/error.h"
#include "xml_util.h"
#include "domain_xml.h"

#define XML_MAX (16 << 20)

static char *
prop (xmlNode *n, const char *name)
{
  xmlChar *v = n ? xmlGetProp (n, BAD_CAST name) : NULL;
  char *r = v ? strdup ((const char *) v) : NULL;

  xmlFree (v);
  return r;
}

static char *
xstrdup (const char *s)
{
  return strdup (s ? s : "");
}

/* The source of a disk as one string a user recognises. */
static char *
disk_source (xmlNode *src, const char *type)
{
  char *r = NULL;

  if (src == NULL)
    return xstrdup ("");
  if (strcmp (type, "file") == 0)
    r = prop (src, "file");
  else if (strcmp (type, "block") == 0)
    r = prop (src, "dev");
  else if (strcmp (type, "dir") == 0)
    r = prop (src, "dir");
  else if (strcmp (type, "volume") == 0) {
    char *pool = prop (src, "pool"), *vol = prop (src, "volume");
    if (asprintf (&r, "%s/%s", pool ? pool : "", vol ? vol : "") == -1)
      r = NULL;
    free (pool);
    free (vol);
  }
  else if (strcmp (type, "network") == 0) {
    char *proto = prop (src, "protocol"), *name = prop (src, "name");
    if (asprintf (&r, "%s://%s", proto ? proto : "?", name ? name : "") == -1)
      r = NULL;
    free (proto);
    free (name);
  }
  return r ? r : xstrdup ("");
}

static void
classify (struct vm_disk *d)
{
  d->included = false;
  if (strcmp (d->device, "lun") == 0)
    d->reason = "pass-through LUN (device='lun'): the guest drives it";
  else if (strcmp (d->device, "hostdev") == 0)
    d->reason = "SCSI host device passed through to the guest";
  else if (strcmp (d->type, "network") == 0)
    d->reason = strncmp (d->source, "iscsi:", 6) == 0
      ? "network iSCSI LUN: owned by the storage system"
      : "network disk: not readable from this host";
  else if (d->shareable)
    d->reason = "shared disk (<shareable/>): others write it while we read";
  else if (strcmp (d->device, "cdrom") == 0
           || strcmp (d->device, "floppy") == 0)
    d->reason = "removable media";
  else if (strcmp (d->type, "dir") == 0)
    d->reason = "directory-backed disk (vvfat)";
  else if (d->source[0] == '\0')
    d->reason = "no source";
  else {
    d->included = true;
    d->reason = NULL;
  }
}

/* <encryption format='luks'><secret type='passphrase' uuid=.../>, in
 * <source> (libvirt's place for it) or in <disk> (the older one): the
 * secret's UUID, or NULL. */
static char *
luks_secret (xmlNode *disk)
{
  xmlNode *enc = xml_child (xml_child (disk, "source"), "encryption");
  char *format, *uuid = NULL;

  if (enc == NULL)
    enc = xml_child (disk, "encryption");
  if (enc == NULL)
    return NULL;
  format = prop (enc, "format");
  if (format && strcmp (format, "luks") == 0
      && xml_child (enc, "secret") != NULL)
    uuid = prop (xml_child (enc, "secret"), "uuid");
  free (format);
  return uuid;
}

static int
add_disk (struct domain_info *info, xmlNode *n)
{
  struct vm_disk d = { 0 };
  char *type = prop (n, "type"), *device = prop (n, "device");
  xmlNode *driver = xml_child (n, "driver"), *target = xml_child (n, "target");

  d.type = xstrdup (type);
  d.device = xstrdup (device ? device : "disk");
  free (type);
  free (device);
  d.target = target ? prop (target, "dev") : NULL;
  if (d.target == NULL)
    d.target = xstrdup ("?");
  d.format = driver ? prop (driver, "type") : NULL;
  if (d.format == NULL)
    d.format = xstrdup ("");
  d.source = disk_source (xml_child (n, "source"), d.type);
  d.shareable = xml_child (n, "shareable") != NULL;
  d.readonly = xml_child (n, "readonly") != NULL;
  d.luks_secret = luks_secret (n);
  if (!d.type || !d.device || !d.target || !d.format || !d.source) {
    set_error (ENOMEM, "domain XML");
    goto fail;
  }
  classify (&d);
  if (vm_disk_vector_append (&info->disks, d) == -1) {
    set_error (ENOMEM, "domain XML");
    goto fail;
  }
  return 0;
fail:
  free (d.luks_secret);
  free (d.type);
  free (d.device);
  free (d.target);
  free (d.format);
  free (d.source);
  return -1;
}

static int
add_hostdev (struct domain_info *info, xmlNode *n, int index)
{
  struct vm_disk d = { 0 };
  char *type = prop (n, "type");
  int scsi = type && strcmp (type, "scsi") == 0;

  free (type);
  if (!scsi)
    return 0; /* PCI/USB devices hold no disk data */
  if (asprintf (&d.target, "hostdev%d", index) == -1)
    d.target = NULL;
  d.device = xstrdup ("hostdev");
  d.type = xstrdup ("scsi");
  d.format = xstrdup ("");
  d.source = xstrdup ("");
  if (!d.target || !d.device || !d.type || !d.format || !d.source
      || (classify (&d), vm_disk_vector_append (&info->disks, d)) == -1) {
    free (d.type);
    free (d.device);
    free (d.target);
    free (d.format);
    free (d.source);
    set_error (ENOMEM, "domain XML");
    return -1;
  }
  return 0;
}

const char *const boot_kind_name[BOOT_KINDS] = {
  [BOOT_KERNEL] = "kernel",
  [BOOT_INITRD] = "initrd",
  [BOOT_DTB] = "dtb",
  [BOOT_LOADER] = "loader",
};

/* The text of <os><NAME>, a path; NULL when absent or empty. */
static char *
os_path (xmlNode *os, const char *name)
{
  char *t = xml_text (xml_child (os, name));

  if (t && t[0] == '\0') {
    free (t);
    t = NULL;
  }
  return t;
}

int
domain_xml_parse (const char *xml, size_t len, struct domain_info *info)
{
  xmlDoc *doc;
  xmlNode *root, *devices, *os;
  int r = -1, hostdevs = 0;

  memset (info, 0, sizeof *info);
  if (len > XML_MAX) {
    set_error (0, "domain XML too large");
    return -1;
  }
  doc = xmlReadMemory (xml, len, "domain.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR
                         | XML_PARSE_NOWARNING);
  if (doc == NULL) {
    set_error (0, "domain XML does not parse");
    return -1;
  }
  root = xmlDocGetRootElement (doc);
  if (root == NULL || strcmp ((const char *) root->name, "domain") != 0) {
    set_error (0, "not a libvirt domain XML document");
    goto out;
  }
  info->name = xml_text (xml_child (root, "name"));
  info->uuid = xml_text (xml_child (root, "uuid"));
  if (info->name == NULL || info->name[0] == '\0') {
    set_error (0, "domain XML has no name");
    goto out;
  }
  os = xml_child (root, "os");
  info->nvram = os_path (os, "nvram");
  for (int k = 0; k < BOOT_KINDS; k++)
    info->boot[k] = os_path (os, boot_kind_name[k]);
  devices = xml_child (root, "devices");
  for (xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (strcmp ((const char *) c->name, "disk") == 0) {
      if (add_disk (info, c) == -1)
        goto out;
    }
    else if (strcmp ((const char *) c->name, "hostdev") == 0) {
      if (add_hostdev (info, c, hostdevs++) == -1)
        goto out;
    }
    else if (strcmp ((const char *) c->name, "tpm") == 0) {
      xmlNode *be = xml_child (c, "backend");
      char *t = prop (be, "type");
      info->has_tpm |= t && strcmp (t, "emulator") == 0;
      free (t);
    }
  }
  r = 0;
out:
  xmlFreeDoc (doc);
  if (r == -1)
    domain_info_release (info);
  return r;
}

void
domain_info_release (struct domain_info *info)
{
  for (size_t i = 0; i < info->disks.len; i++) {
    struct vm_disk *d = &info->disks.ptr[i];
    free (d->target);
    free (d->device);
    free (d->type);
    free (d->source);
    free (d->volume);
    free (d->luks_secret);
    free (d->format);
  }
  vm_disk_vector_reset (&info->disks);
  free (info->name);
  free (info->uuid);
  free (info->nvram);
  for (int k = 0; k < BOOT_KINDS; k++)
    free (info->boot[k]);
  memset (info, 0, sizeof *info);
}

size_t
domain_included_disks (const struct domain_info *info)
{
  size_t n = 0;

  for (size_t i = 0; i < info->disks.len; i++)
    n += info->disks.ptr[i].included;
  return n;
}
