/* Secrets (host_objects.h): a definition and a value.  libvirt gives
 * the value of a secret defined private='no' only; a private one is
 * kept without it, and said so. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "conn.h"
#include "host_objects.h"

static int
secret_list (virConnectPtr conn, host_object_vector *out)
{
  virSecretPtr *secrets = NULL;
  /* An ephemeral secret lives only in libvirtd's memory: nothing to
   * define again. */
  int n = virConnectListAllSecrets (conn, &secrets,
                                    VIR_CONNECT_LIST_SECRETS_NO_EPHEMERAL);
  int r = 0;

  if (n < 0 && host_list_unsupported ())
    return 0;
  if (n < 0) {
    set_error (0, "list secrets: %s", virt_error ());
    return -1;
  }
  for (int i = 0; i < n; i++) {
    char uuid[VIR_UUID_STRING_BUFLEN];
    struct host_object o = { .kind = HK_SECRET };

    if (r == 0 && virSecretGetUUIDString (secrets[i], uuid) == 0) {
      o.name = strdup (uuid);
      o.xml = virSecretGetXMLDesc (secrets[i], 0);
      if (o.name == NULL || o.xml == NULL) {
        set_error (0, "secret %s: %s", uuid, virt_error ());
        r = -1;
      }
      else {
        o.value = virSecretGetValue (secrets[i], &o.value_len, 0);
        o.has_value = o.value != NULL;
        o.value_private = o.value == NULL && strstr (o.xml, "private='yes'");
        if (host_object_vector_append (out, o) == -1) {
          set_error (ENOMEM, "secret %s", uuid);
          r = -1;
        }
      }
      if (r == -1)
        host_object_free (&o);
    }
    virSecretFree (secrets[i]);
  }
  free (secrets);
  return r;
}

static int
secret_lookup (virConnectPtr conn, const char *name, char **xml)
{
  virSecretPtr s = virSecretLookupByUUIDString (conn, name);

  if (s == NULL)
    return 0;
  *xml = virSecretGetXMLDesc (s, 0);
  if (*xml == NULL)
    set_error (0, "secret %s: %s", name, virt_error ());
  virSecretFree (s);
  return *xml ? 1 : -1;
}

static int
secret_define (virConnectPtr conn, const struct host_object *o)
{
  virSecretPtr s = virSecretDefineXML (conn, o->xml, 0);

  if (s == NULL) {
    set_error (0, "define: %s", virt_error ());
    return -1;
  }
  if (o->has_value && virSecretSetValue (s, o->value, o->value_len, 0) < 0) {
    set_error (0, "set its value: %s", virt_error ());
    virSecretUndefine (s);
    virSecretFree (s);
    return -1;
  }
  virSecretFree (s);
  return 0;
}

static int
secret_remove (virConnectPtr conn, const char *name)
{
  virSecretPtr s = virSecretLookupByUUIDString (conn, name);
  int r = 0;

  if (s == NULL)
    return 0;
  if (virSecretUndefine (s) < 0) {
    set_error (0, "remove the existing secret: %s", virt_error ());
    r = -1;
  }
  virSecretFree (s);
  return r;
}

const struct host_kind_ops host_secret_ops = {
  .name = "secret",
  .list = secret_list,
  .lookup = secret_lookup,
  .define = secret_define,
  .remove = secret_remove,
};
