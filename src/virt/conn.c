/* libvirt connection helpers (see conn.h). */
#include <stdio.h>

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
