/* What an incremental VM backup records survives serialise and parse:
 * the checkpoint, the qemu run identity, and per disk how it was read,
 * how much was read and which image it was.  A bad read mode or a
 * second image attribute makes the manifest invalid. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "common/digest.h"
#include "repo/manifest.h"
#include "test.h"

/* Replace the checksum line so that an edited manifest is judged on its
 * content, not refused for the checksum alone. */
static char *
reseal (const char *text)
{
  const char *sum = strstr (text, "checksum ");
  struct strbuf sb = STRBUF_INIT;
  struct digest d;
  char hex[DIGEST_HEX_LEN + 1];

  strbuf_add (&sb, text, sum - text);
  digest_compute (sb.buf, sb.len, &d);
  digest_to_hex (&d, hex);
  strbuf_addf (&sb, "checksum %s\n", hex);
  return strbuf_detach (&sb);
}

static int
parses (const char *text)
{
  struct manifest *m = calloc (1, sizeof *m);
  int r = manifest_parse (text, strlen (text), m);

  manifest_free (m);
  return r;
}

static char *
edit (const char *text, const char *from, const char *to)
{
  struct strbuf sb = STRBUF_INIT;
  const char *p = strstr (text, from);
  char *out;

  CHECK (p != NULL, "no %s in the manifest", from);
  strbuf_add (&sb, text, p - text);
  strbuf_addstr (&sb, to);
  strbuf_addstr (&sb, p + strlen (from));
  out = reseal (sb.buf);
  strbuf_release (&sb);
  return out;
}

int
main (void)
{
  struct manifest m = { 0 }, *back = calloc (1, sizeof *back);
  struct manifest_disk a = { .name = "vda", .format = "qcow2", .size = 1 << 30,
                             .incremental = true, .bytes_read = 12345678,
                             .image = "fe01:1835012", .source = "/v/a b.qcow2" };
  struct manifest_disk b = { .name = "vdb", .format = "raw", .size = 1 << 20,
                             .bytes_read = 1 << 20 };
  char *text, *t;

  m.id = "web1/20261125T030000Z";
  m.name = "web1";
  m.kind = "vm";
  m.consistency = "application";
  m.chunk_size = 4 << 20;
  m.checkpoint = "vmbackup.5f1c0a9e.20261125T030000Z";
  m.run = "9b1d2c6e:4242:8812345";
  test_fill_random (a.index.b, DIGEST_LEN);
  test_fill_random (b.index.b, DIGEST_LEN);
  CHECK (manifest_disk_vector_append (&m.disks, a) == 0, "append");
  CHECK (manifest_disk_vector_append (&m.disks, b) == 0, "append");
  text = manifest_serialize (&m);
  CHECK (manifest_parse (text, strlen (text), back) == 0, "%s", get_error ());
  CHECK (strcmp (back->checkpoint, m.checkpoint) == 0, "checkpoint");
  CHECK (strcmp (back->run, m.run) == 0, "run");
  CHECK (back->disks.len == 2, "disks");
  CHECK (back->disks.ptr[0].incremental && back->disks.ptr[0].bytes_read == 12345678,
         "vda read mode");
  CHECK (strcmp (back->disks.ptr[0].image, "fe01:1835012") == 0, "image");
  CHECK (strcmp (back->disks.ptr[0].source, "/v/a b.qcow2") == 0, "source");
  CHECK (!back->disks.ptr[1].incremental && back->disks.ptr[1].image == NULL
         && back->disks.ptr[1].bytes_read == 1 << 20, "vdb read mode");
  manifest_free (back);

  /* Resealed edits: the content decides. */
  t = edit (text, "read=incremental", "read=incremental");
  CHECK (parses (t) == 0, "resealed copy refused: %s", get_error ());
  free (t);
  t = edit (text, "read=incremental", "read=sometimes");
  CHECK (parses (t) == -1, "unknown read mode accepted");
  free (t);
  t = edit (text, " image=fe01:1835012", " image=fe01:1835012 image=fe01:1");
  CHECK (parses (t) == -1, "second image accepted");
  free (t);
  t = edit (text, "checkpoint vmbackup", "checkpoint x\ncheckpoint vmbackup");
  CHECK (parses (t) == -1, "second checkpoint line accepted");
  free (t);
  t = edit (text, " read=full bytes-read=1048576", "");
  CHECK (parses (t) == 0, "a disk line without read mode refused");
  free (t);

  free (text);
  manifest_disk_vector_reset (&m.disks);
  return 0;
}
