/* The libvirt host behind struct vm_host (host.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#include <libvirt/virterror.h>

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

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
vm_host_list (struct vm_host *h, char ***names, size_t *n)
{
  virDomainPtr *doms = NULL;
  int count = virConnectListAllDomains (h->conn, &doms, 0);
  char **out;
  size_t k = 0;

  if (count < 0) {
    virErrorPtr e = virGetLastError ();
    set_error (0, "list VMs: %s", e && e->message ? e->message : "failed");
    return -1;
  }
  out = calloc (count + 1, sizeof *out);
  for (int i = 0; i < count; i++) {
    const char *name = virDomainGetName (doms[i]);
    if (out && name && (out[k] = strdup (name)) != NULL)
      k++;
    virDomainFree (doms[i]);
  }
  free (doms);
  if (out == NULL || k != (size_t) count) {
    for (size_t i = 0; out && i < k; i++)
      free (out[i]);
    free (out);
    set_error (ENOMEM, "list VMs: out of memory");
    return -1;
  }
  qsort (out, k, sizeof *out, compare_names);
  *names = out;
  *n = k;
  return 0;
}
