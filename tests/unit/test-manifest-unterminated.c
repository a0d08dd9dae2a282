/* manifest_parse takes a length: it must not read past it, even when the
 * text is not NUL-terminated (a buffer from mmap, a network read, the
 * fuzzer).  The text is placed against an unmapped page, so any read
 * past its end crashes the test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/error.h"
#include "repo/manifest.h"
#include "test.h"

int
main (void)
{
  const char *body =
    "vmbackup-manifest 1\nid a/b\nname a\nkind image\n"
    "consistency c%41\nchunk-size 65536\n"
    "disk name=vda format=raw size=1 index="
    "0000000000000000000000000000000000000000000000000000000000000001"
    " source=/x%20y\n";
  long pg = sysconf (_SC_PAGESIZE);
  struct digest d;
  char hex[DIGEST_HEX_LEN + 1], text[1024], *p;
  unsigned char *map;
  struct manifest *m = calloc (1, sizeof *m);
  int n;

  CHECK (m != NULL, "calloc");
  CHECK (digest_compute (body, strlen (body), &d) == 0, "digest");
  digest_to_hex (&d, hex);
  n = snprintf (text, sizeof text, "%schecksum %s\n", body, hex);
  map = mmap (NULL, 2 * pg, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK (map != MAP_FAILED, "mmap: %m");
  CHECK (mprotect (map + pg, pg, PROT_NONE) == 0, "mprotect: %m");
  p = (char *) map + pg - n;
  memcpy (p, text, n);

  CHECK (manifest_parse (p, n, m) == 0, "parse: %s", get_error ());
  CHECK (strcmp (m->consistency, "cA") == 0, "consistency \"%s\"",
         m->consistency);
  CHECK (m->disks.len == 1 && strcmp (m->disks.ptr[0].source, "/x y") == 0,
         "disk source");
  manifest_free (m);
  munmap (map, 2 * pg);
  return 0;
}
