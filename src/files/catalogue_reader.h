/* Reading a file backup's catalogue, record by record, in order.  On
 * top of each record's own checks (catalogue.h) it enforces the stream's:
 * the magic, strictly increasing paths, hard links to earlier entries,
 * and the record count the manifest gives. */
#ifndef VMB_CATALOGUE_READER_H
#define VMB_CATALOGUE_READER_H

#include "repo/manifest.h"
#include "catalogue.h"
#include "stream_reader.h"

struct catalogue_reader {
  struct stream_reader stream;
  uint64_t pos, size;
  uint64_t seen, expected;
  char *last_path;
  struct catalogue_state state;
  unsigned char *body;
  size_t body_cap;
};

int catalogue_reader_open (struct catalogue_reader *r, struct repo *repo,
                           const struct manifest_archive *a);
/* 1 with the next entry in *e (zeroed by the caller, released by it),
 * 0 at the end, -1 on error. */
int catalogue_reader_next (struct catalogue_reader *r, struct file_entry *e);
void catalogue_reader_close (struct catalogue_reader *r);

/* Check a whole catalogue stream in memory (fuzzing, tests): returns the
 * number of records or -1. */
int64_t catalogue_check_buffer (const unsigned char *buf, size_t len);

#endif
