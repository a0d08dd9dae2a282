/* libFuzzer harness for the domain XML readers: disk classification
 * (plan, backup) and the rewriting restore does for --as/--storage.
 * Both take XML that came out of a backup, so they must never crash on
 * damaged input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virt/domain_edit.h"
#include "virt/domain_xml.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct domain_info info;
  char *xml = malloc (size + 1);
  struct disk_move moves[] = { { "vda", "/new/vda.qcow2" },
                               { "sdb", "/new/sdb.img" } };
  struct domain_rewrite rw = { .name = "copy", .new_identity = true,
                               .disks = moves, .ndisks = 2,
                               .nvram = "/new/VARS.fd" };

  if (xml == NULL)
    return 0;
  memcpy (xml, data, size);
  xml[size] = '\0';
  if (domain_xml_parse (xml, size, &info) == 0) {
    /* Whatever parses must rewrite, and the rewrite must parse again
     * with the new name. */
    char *out = domain_xml_rewrite (xml, &rw);
    if (out) {
      struct domain_info again;
      if (domain_xml_parse (out, strlen (out), &again) == 0) {
        if (strcmp (again.name, "copy") != 0)
          abort ();
        domain_info_release (&again);
      }
      free (out);
    }
    domain_info_release (&info);
  }
  free (snapshot_xml_disk_only (xml));
  free (xml);
  return 0;
}
