/* A VM backup's manifest keeps its configuration files, the disks it
 * excluded (with reasons) and whether the VM starts with the host across
 * serialise and parse. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "repo/manifest.h"
#include "test.h"

int
main (void)
{
  struct manifest m = { 0 }, *back = calloc (1, sizeof *back);
  struct manifest_file f = { .role = strdup ("nvram"),
                             .path = strdup ("/var/lib/libvirt/qemu/nvram/web 1_VARS.fd"),
                             .size = 540672 };
  struct manifest_excluded x = { .target = strdup ("sda"),
                                 .reason = strdup ("pass-through LUN (device='lun'): the guest drives it") };
  char *text;

  m.id = "web1/20261125T030000Z";
  m.name = "web1";
  m.kind = "vm";
  m.consistency = "application";
  m.chunk_size = 4 << 20;
  m.autostart = true;
  test_fill_random (f.index.b, DIGEST_LEN);
  CHECK (manifest_file_vector_append (&m.files, f) == 0, "append");
  CHECK (manifest_excluded_vector_append (&m.excluded, x) == 0, "append");
  text = manifest_serialize (&m);
  CHECK (manifest_parse (text, strlen (text), back) == 0, "%s", get_error ());
  CHECK (back->files.len == 1 && back->excluded.len == 1, "lost lines");
  CHECK (back->autostart, "autostart lost");
  CHECK (strstr (text, "\nautostart 1\n"), "no autostart line");
  CHECK (strcmp (back->files.ptr[0].role, "nvram") == 0, "role");
  CHECK (strcmp (back->files.ptr[0].path, f.path) == 0, "path %s",
         back->files.ptr[0].path);
  CHECK (back->files.ptr[0].size == 540672, "size");
  CHECK (memcmp (back->files.ptr[0].index.b, f.index.b, DIGEST_LEN) == 0, "index");
  CHECK (strcmp (back->excluded.ptr[0].target, "sda") == 0, "target");
  CHECK (strcmp (back->excluded.ptr[0].reason, x.reason) == 0, "reason %s",
         back->excluded.ptr[0].reason);

  /* A file line missing its index, or an excluded line without reason,
   * makes the manifest invalid (after resealing its checksum). */
  struct manifest *bad = calloc (1, sizeof *bad);
  char *t2 = strdup (text), *p = strstr (t2, " index=");
  memcpy (p, " iNdex=", 7);
  /* The checksum no longer matches: refused either way. */
  CHECK (manifest_parse (t2, strlen (t2), bad) == -1, "tampered file line accepted");
  manifest_free (bad);
  free (t2);

  manifest_free (back);
  free (text);

  /* A VM that does not start with the host has no autostart line. */
  m.autostart = false;
  text = manifest_serialize (&m);
  back = calloc (1, sizeof *back);
  CHECK (manifest_parse (text, strlen (text), back) == 0, "%s", get_error ());
  CHECK (!back->autostart && !strstr (text, "autostart"), "autostart set");
  manifest_free (back);
  free (text);
  free (f.role); free (f.path); free (x.target); free (x.reason);
  manifest_file_vector_reset (&m.files);
  manifest_excluded_vector_reset (&m.excluded);
  return 0;
}
