/* A manifest that is damaged or cut short at any byte is refused (its
 * backup is then reported, not restored wrongly), and refusing it never
 * reads out of bounds or leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "repo/manifest.h"
#include "test.h"

static const char *body =
  "vmbackup-manifest 1\n"
  "id db/20261125T024643Z\n"
  "name db\n"
  "kind image\n"
  "consistency offline\n"
  "time 1795574803\n"
  "finished 1795574810\n"
  "downtime-ms 0\n"
  "chunk-size 65536\n"
  "disk name=vda format=raw size=1049088 index="
  "6f62795c030ae2b1a6a7d89c0e03353e9497f0f7caa4cd268559616fbcafdd77"
  " stored-new=606 source=/tmp/a%20b%25c%3Dd\n"
  "disk name=vdb format=qcow2 size=65536 index="
  "0000000000000000000000000000000000000000000000000000000000000001"
  " stored-new=0 source=\n";

/* body plus its checksum line, as manifest_serialize writes. */
static char *
seal (const char *b)
{
  struct digest d;
  char hex[DIGEST_HEX_LEN + 1], *text;

  CHECK (digest_compute (b, strlen (b), &d) == 0, "digest");
  digest_to_hex (&d, hex);
  CHECK (asprintf (&text, "%schecksum %s\n", b, hex) > 0, "asprintf");
  return text;
}

/* Parse len bytes from a block of exactly that size. */
static int
parse (const char *text, size_t len)
{
  struct manifest *m = calloc (1, sizeof *m);
  char *copy = test_memdup (text, len);
  int r;

  CHECK (m != NULL, "calloc");
  r = manifest_parse (copy, len, m);
  manifest_free (m);
  free (copy);
  return r;
}

int
main (void)
{
  char *text = seal (body);
  size_t len = strlen (text);
  static const unsigned char masks[] = { 0x01, 0x20, 0x80 };

  CHECK (parse (text, len) == 0, "intact manifest refused: %s", get_error ());

  for (size_t i = 0; i < len; i++)
    for (size_t k = 0; k < sizeof masks; k++) {
      text[i] ^= masks[k];
      CHECK (parse (text, len) == -1,
             "byte %zu ('%c') xor 0x%02x accepted", i, text[i] ^ masks[k],
             masks[k]);
      text[i] ^= masks[k];
    }

  for (size_t l = 0; l < len; l++)
    CHECK (parse (text, l) == -1, "truncated to %zu of %zu bytes accepted", l,
           len);

  /* A line appended after the checksum is damage too. */
  {
    char *longer;
    CHECK (asprintf (&longer, "%sname evil\n", text) > 0, "asprintf");
    CHECK (parse (longer, strlen (longer)) == -1, "trailing line accepted");
    free (longer);
  }
  free (text);

  /* Well sealed, but wrong inside: each must still be refused. */
  {
    static const char *bad[] = {
      /* missing required fields */
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n",
      /* invalid name, bad numbers, bad escapes */
      "vmbackup-manifest 1\nid a/b\nname .a\nkind image\nconsistency crash\n"
      "chunk-size 65536\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 4294967296\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 65536\ntime -1\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 65536\ntime 99999999999999999999\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash%0\n"
      "chunk-size 65536\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash%00\n"
      "chunk-size 65536\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash%\n"
      "chunk-size 65536\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency c% 1\n"
      "chunk-size 65536\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency c%+1\n"
      "chunk-size 65536\n",
      /* a field given twice */
      "vmbackup-manifest 1\nid a/b\nname a\nname b\nkind image\n"
      "consistency crash\nchunk-size 65536\n",
      /* disks lacking a field, or with a bad index */
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 65536\ndisk name=vda format=raw size=1\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 65536\ndisk name=vda format=raw size=1 index=00\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 65536\ndisk name= format=raw size=1 index="
      "0000000000000000000000000000000000000000000000000000000000000001\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 65536\ndisk name=vda format=raw size=1  index="
      "0000000000000000000000000000000000000000000000000000000000000001\n",
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 65536\ndisk name=vda format=raw size=1 index="
      "000000000000000000000000000000000000000000000000000000000000000G\n",
      /* a line without a value */
      "vmbackup-manifest 1\nid a/b\nname a\nkind image\nconsistency crash\n"
      "chunk-size 65536\nbogus\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      char *t = seal (bad[i]);
      CHECK (parse (t, strlen (t)) == -1, "accepted:\n%s", t);
      free (t);
    }
  }

  /* Fields a newer vmbackup may add are skipped, not fatal. */
  {
    char *t = seal ("vmbackup-manifest 1\nid a/b\nname a\nkind image\n"
                    "consistency crash\nchunk-size 65536\nlabel x y z\n"
                    "disk name=vda format=raw size=1 index="
                    "0000000000000000000000000000000000000000000000000000000000000001"
                    " encrypted=no\n");
    CHECK (parse (t, strlen (t)) == 0, "unknown fields refused: %s",
           get_error ());
    free (t);
  }
  return 0;
}
