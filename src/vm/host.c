/* The libvirt host behind struct vm_host (host.h). */
#include <stdlib.h>

#include "virt/conn.h"
#include "host_private.h"

struct vm_host *
vm_host_open (const char *uri)
{
  struct vm_host *h = calloc (1, sizeof *h);

  if (h == NULL)
    return NULL;
  h->uri = uri;
  h->conn = virt_connect (uri);
  if (h->conn == NULL) {
    free (h);
    return NULL;
  }
  return h;
}

void
vm_host_close (struct vm_host *h)
{
  if (h == NULL)
    return;
  virConnectClose (h->conn);
  free (h);
}

int
vm_host_plan (struct vm_host *h, const char *name, int agent_timeout_s,
              struct vm_plan *plan)
{
  virDomainPtr dom = virt_lookup (h->conn, name);
  int r;

  if (dom == NULL)
    return -1;
  r = vm_plan_make (dom, agent_timeout_s, plan);
  virDomainFree (dom);
  return r;
}
