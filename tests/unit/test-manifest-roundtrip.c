/* A manifest reads back exactly as it was written, whatever characters
 * the source paths hold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "repo/manifest.h"
#include "test.h"

static const char *source0 = "/var/lib/my images/web 100%=ok.img";
static const char *source1 = "/srv/d\xc3\xbcsk\tfile%41=\n.qcow2";

static char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  CHECK (p != NULL, "strdup");
  return p;
}

static void
add_disk (struct manifest *m, const char *name, const char *format,
          const char *source, uint64_t size, uint64_t stored_new)
{
  struct manifest_disk d = {
    .name = xstrdup (name), .format = xstrdup (format),
    .source = xstrdup (source), .size = size, .stored_new = stored_new,
  };

  test_fill_random (d.index.b, DIGEST_LEN);
  CHECK (manifest_disk_vector_append (&m->disks, d) == 0, "append");
}

static void
same_str (const char *got, const char *want, const char *field)
{
  CHECK (got != NULL, "%s: missing after parse", field);
  CHECK (strcmp (got, want) == 0, "%s: \"%s\", want \"%s\"", field, got, want);
}

int
main (void)
{
  struct manifest *m = calloc (1, sizeof *m), *back = calloc (1, sizeof *back);
  char *text;

  CHECK (m != NULL && back != NULL, "calloc");
  m->id = xstrdup ("web-01/20261125T024643Z");
  m->name = xstrdup ("web-01");
  m->kind = xstrdup ("image");
  m->consistency = xstrdup ("crash");
  m->time = 1795574803;
  m->finished = 1795575000;
  m->downtime_ms = 1234;
  m->chunk_size = 4 << 20;
  add_disk (m, "vda", "raw", source0, 10ULL << 30, 123456789);
  add_disk (m, "vdb", "qcow2", source1, UINT64_MAX, 0);

  text = manifest_serialize (m);
  CHECK (text != NULL, "manifest_serialize");
  /* One line per field: an escaped path must not break the line. */
  CHECK (strstr (text, "100%25%3Dok.img") != NULL,
         "'%%' and '=' not escaped in:\n%s", text);
  CHECK (strstr (text, "my%20images") != NULL, "space not escaped in:\n%s",
         text);

  CHECK (manifest_parse (text, strlen (text), back) == 0, "parse: %s\n%s",
         get_error (), text);
  same_str (back->id, m->id, "id");
  same_str (back->name, m->name, "name");
  same_str (back->kind, m->kind, "kind");
  same_str (back->consistency, m->consistency, "consistency");
  CHECK (back->time == m->time, "time %lld", (long long) back->time);
  CHECK (back->finished == m->finished, "finished %lld",
         (long long) back->finished);
  CHECK (back->downtime_ms == m->downtime_ms, "downtime-ms %lld",
         (long long) back->downtime_ms);
  CHECK (back->chunk_size == m->chunk_size, "chunk size %u", back->chunk_size);
  CHECK (back->disks.len == 2, "%zu disks, want 2", back->disks.len);
  for (size_t i = 0; i < 2; i++) {
    const struct manifest_disk *a = &m->disks.ptr[i], *b = &back->disks.ptr[i];
    same_str (b->name, a->name, "disk name");
    same_str (b->format, a->format, "disk format");
    same_str (b->source, a->source, "disk source");
    CHECK (b->size == a->size, "disk %zu size %llu", i,
           (unsigned long long) b->size);
    CHECK (b->stored_new == a->stored_new, "disk %zu stored-new %llu", i,
           (unsigned long long) b->stored_new);
    CHECK (digest_cmp (&b->index, &a->index) == 0, "disk %zu index", i);
  }
  CHECK (manifest_stored_new (back) == 123456789, "stored new");

  /* Serialising what was parsed gives the same text. */
  {
    char *again = manifest_serialize (back);
    CHECK (again != NULL && strcmp (again, text) == 0,
           "second serialisation differs:\n%s\n---\n%s", text, again);
    free (again);
  }

  free (text);
  manifest_free (m);
  manifest_free (back);
  return 0;
}
