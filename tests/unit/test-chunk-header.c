/* chunk_header_parse accepts exactly what chunk_header_encode writes and
 * refuses headers that would make the reader trust a size or format it
 * cannot handle. */
#include <stdint.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/endian.h"
#include "common/error.h"
#include "repo/chunk.h"
#include "test.h"

#define MAX (64 * 1024)

/* A header plus room for a payload of up to MAX bytes. */
static unsigned char file[CHUNK_HEADER_LEN + MAX + 1];

static void
make (uint32_t comp, uint32_t raw, uint32_t payload)
{
  struct chunk_header h = {
    .version = 1,
    .compression = comp,
    .raw_size = raw,
    .payload_size = payload,
    .payload_crc = 0x12345678,
  };

  memset (file, 0, sizeof file);
  chunk_header_encode (&h, file);
}

/* Rewrite the header checksum after editing fields directly. */
static void
reseal (void)
{
  put_le32 (file + 28, crc32c (0, file, 28));
}

static void
parses (size_t len, const char *what)
{
  struct chunk_header h;

  CHECK (chunk_header_parse (file, len, MAX, &h) == 0, "%s: %s", what,
         get_error ());
}

static void
refuses (size_t len, const char *cause, const char *what)
{
  struct chunk_header h;

  set_error (0, "no error set");
  CHECK (chunk_header_parse (file, len, MAX, &h) == -1, "%s: accepted", what);
  CHECK (strstr (get_error (), cause) != NULL,
         "%s: error \"%s\" does not mention \"%s\"", what, get_error (),
         cause);
}

int
main (void)
{
  struct chunk_header h;

  make (CHUNK_COMP_ZSTD, 1000, 100);
  CHECK (chunk_header_parse (file, CHUNK_HEADER_LEN + 100, MAX, &h) == 0,
         "valid header: %s", get_error ());
  CHECK (h.compression == CHUNK_COMP_ZSTD && h.raw_size == 1000
           && h.payload_size == 100 && h.payload_crc == 0x12345678,
         "fields did not survive: %u %u %u %08x", h.compression, h.raw_size,
         h.payload_size, h.payload_crc);

  make (CHUNK_COMP_NONE, MAX, MAX);
  parses (CHUNK_HEADER_LEN + MAX, "stored chunk of the maximum size");

  make (CHUNK_COMP_ZSTD, 1000, 100);
  memcpy (file, "VMBCHNK2", 8);
  refuses (CHUNK_HEADER_LEN + 100, "bad magic", "bad magic");
  reseal ();
  refuses (CHUNK_HEADER_LEN + 100, "bad magic", "bad magic, resealed");

  make (CHUNK_COMP_ZSTD, 1000, 100);
  file[28] ^= 1;
  refuses (CHUNK_HEADER_LEN + 100, "header checksum", "bad header crc");

  make (CHUNK_COMP_ZSTD, 1000, 100);
  file[17] ^= 1; /* raw size, crc not updated */
  refuses (CHUNK_HEADER_LEN + 100, "header checksum", "edited raw size");

  make (CHUNK_COMP_ZSTD, MAX + 1, 100);
  refuses (CHUNK_HEADER_LEN + 100, "raw size", "raw size above max");
  make (CHUNK_COMP_ZSTD, UINT32_MAX, 100);
  refuses (CHUNK_HEADER_LEN + 100, "raw size", "raw size 4 GiB");
  make (CHUNK_COMP_ZSTD, 0, 100);
  refuses (CHUNK_HEADER_LEN + 100, "raw size", "raw size 0");

  make (CHUNK_COMP_ZSTD, 1000, 100);
  put_le32 (file + 8, 3);
  reseal ();
  refuses (CHUNK_HEADER_LEN + 100, "version", "version 3");

  /* Version 2 (encrypted) has the seal after the payload. */
  make (CHUNK_COMP_ZSTD, 1000, 100);
  put_le32 (file + 8, 2);
  reseal ();
  refuses (CHUNK_HEADER_LEN + 100, "truncated", "version 2 without seal");
  parses (CHUNK_HEADER_LEN + 100 + CHUNK_SEAL_LEN, "version 2 with seal");

  make (7, 1000, 100);
  refuses (CHUNK_HEADER_LEN + 100, "compression", "unknown compression");

  make (CHUNK_COMP_NONE, 1000, 999);
  refuses (CHUNK_HEADER_LEN + 999, "payload size", "stored, sizes differ");

  make (CHUNK_COMP_ZSTD, 1000, 100);
  refuses (CHUNK_HEADER_LEN + 99, "truncated", "payload short by one");
  refuses (CHUNK_HEADER_LEN + 101, "header says", "payload long by one");
  refuses (CHUNK_HEADER_LEN - 1, "truncated", "header short by one");
  refuses (0, "truncated", "empty file");
  make (CHUNK_COMP_ZSTD, 1000, UINT32_MAX);
  refuses (CHUNK_HEADER_LEN + 100, "truncated", "payload size 4 GiB");
  return 0;
}
