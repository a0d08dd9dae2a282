/* libvirt connection helpers (see conn.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "common/error.h"
#include "conn.h"

/* libvirt prints every error to stderr by default; we report them
 * ourselves, once, on one line. */
static void
quiet (void *opaque, virErrorPtr err)
{
  (void) opaque;
  (void) err;
}

const char *
virt_error (void)
{
  const char *m = virGetLastErrorMessage ();

  return m ? m : "unknown libvirt error";
}

virConnectPtr
virt_connect (const char *uri)
{
  virConnectPtr conn;

  virSetErrorFunc (NULL, quiet);
  conn = virConnectOpen (uri ? uri : DEFAULT_URI);
  if (conn == NULL)
    set_error (0, "cannot connect to libvirt at %s: %s",
               uri ? uri : DEFAULT_URI, virt_error ());
  return conn;
}

virDomainPtr
virt_lookup (virConnectPtr conn, const char *name)
{
  virDomainPtr dom = virDomainLookupByName (conn, name);

  if (dom == NULL)
    set_error (0, "VM %s: %s", name,
               virGetLastErrorCode () == VIR_ERR_NO_DOMAIN ? "no such VM"
                                                           : virt_error ());
  return dom;
}

int
virt_qemu_owner (virConnectPtr conn, uid_t *uid, gid_t *gid)
{
  char *caps = virConnectGetCapabilities (conn);
  const char *dac = caps ? strstr (caps, "<model>dac</model>") : NULL;
  const char *label = dac ? strstr (dac, "<baselabel") : NULL;
  const char *end = dac ? strstr (dac, "</secmodel>") : NULL;
  unsigned long u, g;
  int n = 0;

  if (label && (end == NULL || label < end))
    label = strchr (label, '>');
  else
    label = NULL;
  if (label == NULL || sscanf (label, ">+%lu:+%lu<%n", &u, &g, &n) != 2
      || n == 0) {
    set_error (0, "the host's capabilities name no user for QEMU%s%s",
               caps ? "" : ": ", caps ? "" : virt_error ());
    free (caps);
    return -1;
  }
  free (caps);
  *uid = (uid_t) u;
  *gid = (gid_t) g;
  return 0;
}
