/* index_check_buffer (what verify and the fuzzer use) accepts a sealed
 * index and refuses one with any byte changed or a header that does not
 * add up. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "repo/index.h"
#include "test.h"

#define CHUNK (64 * 1024)

/* A sealed index image for disk_size bytes with random digests. */
static unsigned char *
make_index (uint64_t disk_size, size_t *len)
{
  struct index_header h = {
    .chunk_size = CHUNK, .disk_size = disk_size,
    .chunk_count = (disk_size + CHUNK - 1) / CHUNK,
  };
  unsigned char *buf;
  struct digest d;

  *len = INDEX_HEADER_LEN + h.chunk_count * DIGEST_LEN + DIGEST_LEN;
  buf = calloc (1, *len);
  CHECK (buf != NULL, "calloc");
  index_header_encode (&h, buf);
  test_fill_random (buf + INDEX_HEADER_LEN, h.chunk_count * DIGEST_LEN);
  CHECK (digest_compute (buf, *len - DIGEST_LEN, &d) == 0, "digest");
  memcpy (buf + *len - DIGEST_LEN, d.b, DIGEST_LEN);
  return buf;
}

static void
reseal (unsigned char *buf, size_t len)
{
  struct digest d;

  CHECK (digest_compute (buf, len - DIGEST_LEN, &d) == 0, "digest");
  memcpy (buf + len - DIGEST_LEN, d.b, DIGEST_LEN);
}

int
main (void)
{
  struct index_header h;
  unsigned char *buf;
  size_t len;

  buf = make_index (10 * CHUNK + 1, &len);
  CHECK (index_check_buffer (buf, len, &h) == 0, "valid index: %s",
         get_error ());
  CHECK (h.chunk_size == CHUNK && h.disk_size == 10 * CHUNK + 1
         && h.chunk_count == 11, "header %u %llu %llu", h.chunk_size,
         (unsigned long long) h.disk_size, (unsigned long long) h.chunk_count);

  for (size_t i = 0; i < len; i++)
    for (int bit = 0; bit < 8; bit += 3) {
      buf[i] ^= 1 << bit;
      CHECK (index_check_buffer (buf, len, &h) == -1,
             "byte %zu bit %d flipped: accepted", i, bit);
      buf[i] ^= 1 << bit;
    }
  for (size_t l = 0; l < len; l++) {
    unsigned char *cut = test_memdup (buf, l);
    CHECK (index_check_buffer (cut, l, &h) == -1, "truncated to %zu accepted",
           l);
    free (cut);
  }
  free (buf);

  /* An empty disk has no chunks, just a header and a trailer. */
  buf = make_index (0, &len);
  CHECK (len == INDEX_HEADER_LEN + DIGEST_LEN, "empty index %zu bytes", len);
  CHECK (index_check_buffer (buf, len, &h) == 0, "empty disk: %s",
         get_error ());
  free (buf);

  /* Sealed, but the header lies: each is refused before anything trusts
   * its sizes. */
  {
    static const struct { uint32_t chunk; uint64_t disk, count; } bad[] = {
      { 1000, 10 * CHUNK, 10 },                 /* chunk size too small */
      { 3 * CHUNK, 30 * CHUNK, 10 },            /* not a power of two */
      { 32 << 20, 10ULL << 25, 10 },            /* too large */
      { CHUNK, 10 * CHUNK, 11 },                /* count does not fit */
      { CHUNK, 10 * CHUNK + 1, 10 },
      { CHUNK, UINT64_MAX, UINT64_MAX / CHUNK + 1 },    /* size overflows */
      { CHUNK, 0, 0 },                          /* digests left over */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      struct index_header lie = {
        .chunk_size = bad[i].chunk, .disk_size = bad[i].disk,
        .chunk_count = bad[i].count,
      };
      buf = make_index (10 * CHUNK, &len);
      index_header_encode (&lie, buf);
      reseal (buf, len);
      CHECK (index_header_parse (buf, len, &h) == -1,
             "case %zu: header accepted", i);
      CHECK (index_check_buffer (buf, len, &h) == -1,
             "case %zu: index accepted", i);
      free (buf);
    }
  }
  return 0;
}
