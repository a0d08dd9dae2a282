/* A host backup's document read as hostile input (vm/host_document.h):
 * what a restore would write or define comes only from a well-formed
 * document, files only under the paths a host backup keeps, objects
 * in restore order whatever order the writer used. */
#include <string.h>

#include "common/error.h"
#include "vm/host_document.h"
#include "test.h"

static int
parse (const char *text, struct host_doc *doc)
{
  memset (doc, 0, sizeof *doc);
  return host_doc_parse (text, strlen (text), doc);
}

static void
refused (const char *text, const char *why)
{
  struct host_doc doc;

  CHECK (parse (text, &doc) == -1, "accepted: %s", text);
  CHECK (strstr (get_error (), why) != NULL, "error '%s' lacks '%s'",
         get_error (), why);
  host_doc_free (&doc);
}

int
main (void)
{
  struct host_doc doc;

  /* Good: objects given out of order come back secrets first; a file's
   * base64 decodes to its bytes; a secret's value too. */
  CHECK (parse ("{\"format\":1,\"hostname\":\"h\",\"objects\":["
                "{\"kind\":\"pool\",\"name\":\"p\",\"xml\":\"<pool/>\","
                "\"active\":true,\"autostart\":false},"
                "{\"kind\":\"secret\",\"name\":\"u\",\"xml\":\"<secret/>\","
                "\"active\":false,\"autostart\":false,\"value\":\"c2VjcmV0\"}]"
                ","
                "\"files\":[{\"path\":\"/etc/libvirt/qemu.conf\",\"mode\":420,"
                "\"data\":\"YWI=\"}],\"vms\":[]}",
                &doc)
           == 0,
         "good document: %s", get_error ());
  CHECK (doc.objects.len == 2 && doc.objects.ptr[0].kind == HK_SECRET
           && doc.objects.ptr[1].kind == HK_POOL,
         "restore order");
  CHECK (doc.objects.ptr[0].has_value && doc.objects.ptr[0].value_len == 6
           && memcmp (doc.objects.ptr[0].value, "secret", 6) == 0,
         "secret value");
  CHECK (doc.objects.ptr[1].active && !doc.objects.ptr[1].autostart, "state");
  CHECK (doc.files.len == 1 && doc.files.ptr[0].len == 2
           && memcmp (doc.files.ptr[0].data, "ab", 2) == 0
           && doc.files.ptr[0].mode == 0644,
         "file");
  host_doc_free (&doc);

  refused ("not json", "not JSON");
  refused ("{\"format\":2,\"objects\":[],\"files\":[]}", "format 1");
  refused ("{\"format\":1,\"files\":[]}", "no objects");
  refused ("{\"format\":1,\"objects\":[{\"kind\":\"domain\",\"name\":\"x\","
           "\"xml\":\"<d/>\"}],\"files\":[]}",
           "kind domain");
  refused ("{\"format\":1,\"objects\":[{\"kind\":\"network\",\"name\":\"\","
           "\"xml\":\"<n/>\"}],\"files\":[]}",
           "a kind, name and xml");
  refused ("{\"format\":1,\"objects\":[{\"kind\":\"network\",\"name\":\"n\","
           "\"xml\":\"<n/>\",\"value\":\"YQ==\"}],\"files\":[]}",
           "a bad value");
  refused ("{\"format\":1,\"objects\":[{\"kind\":\"network\",\"name\":\"n\","
           "\"xml\":\"<n/>\",\"active\":\"yes\"}],\"files\":[]}",
           "a kind, name and xml");
  /* Files outside what a host backup keeps are never written. */
  const char *bad_paths[] = { "/root/.ssh/authorized_keys",
                              "/etc/libvirt/",
                              "/etc/libvirt/../shadow",
                              "/etc/libvirtX/a",
                              "/etc/libvirt/hooks/..",
                              "etc/libvirt/a",
                              "/etc/libvirt//a",
                              NULL };
  for (int i = 0; bad_paths[i]; i++) {
    char text[512];
    snprintf (text, sizeof text,
              "{\"format\":1,\"objects\":[],\"files\":[{\"path\":\"%s\","
              "\"mode\":420,\"data\":\"\"}]}",
              bad_paths[i]);
    refused (text, "not a path a host backup keeps");
  }
  refused ("{\"format\":1,\"objects\":[],\"files\":[{\"path\":"
           "\"/etc/libvirt/a.conf\",\"mode\":420,\"data\":\"!!!!\"}]}",
           "not base64");
  CHECK (host_file_path_allowed ("/etc/libvirt/hooks/qemu"), "hooks");
  CHECK (host_file_path_allowed ("/etc/default/libvirt-guests"), "guests");
  return 0;
}
