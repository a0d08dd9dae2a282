/* libFuzzer harness for file backup catalogues: catalogue_check_buffer
 * (the magic, record framing, each record's strict decoding, path
 * order) and catalogue_decode on the input taken as one record body.
 * Whatever decodes must have a safe path and a consistent extent list;
 * a violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "files/catalogue.h"
#include "files/catalogue_reader.h"

static void
check_entry (const struct file_entry *e)
{
  uint64_t prev_end = 0;

  if (!catalogue_path_is_safe (e->path, strlen (e->path)))
    abort ();
  if ((e->flags & ENTRY_HARDLINK)
      && !catalogue_path_is_safe (e->target, strlen (e->target)))
    abort ();
  for (size_t i = 0; i < e->extents.len; i++) {
    const struct extent *x = &e->extents.ptr[i];
    if (x->length == 0 || x->offset < prev_end
        || x->offset + x->length > e->size)
      abort ();
    prev_end = x->offset + x->length;
  }
  if (e->type != ENTRY_REG && e->extents.len)
    abort ();
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct file_entry e = { 0 };
  struct catalogue_state st = { 0 };

  catalogue_check_buffer (data, size);
  if (catalogue_decode (data, size, &st, &e) == 0) {
    check_entry (&e);
    file_entry_release (&e);
  }
  /* The first record of a stream, as the reader sees it. */
  if (size > CATALOGUE_MAGIC_LEN + 4) {
    memset (&e, 0, sizeof e);
    memset (&st, 0, sizeof st);
    if (catalogue_decode (data + CATALOGUE_MAGIC_LEN + 4,
                          size - CATALOGUE_MAGIC_LEN - 4, &st, &e) == 0) {
      check_entry (&e);
      file_entry_release (&e);
    }
  }
  return 0;
}
