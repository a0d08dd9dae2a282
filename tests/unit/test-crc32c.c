/* CRC-32C must match the published polynomial bit for bit: chunk files
 * written by one build are read by another. */
#include <stdint.h>
#include <string.h>

#include "common/crc32c.h"
#include "test.h"

/* Bitwise reference, too slow for real use but obviously right. */
static uint32_t
crc32c_ref (const unsigned char *p, size_t len)
{
  uint32_t c = 0xFFFFFFFF;

  while (len--) {
    c ^= *p++;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x82F63B78 : c >> 1;
  }
  return ~c;
}

int
main (void)
{
  static unsigned char buf[3 * 8192 * 2 + 16];
  uint32_t c;

  c = crc32c (0, "123456789", 9);
  CHECK (c == 0xE3069283, "crc32c (\"123456789\") = %08X, want E3069283", c);
  c = crc32c (0, "", 0);
  CHECK (c == 0, "crc32c of nothing = %08X, want 0", c);

  /* 32 zero bytes and 32 0xFF bytes: the RFC 3720 (iSCSI) vectors. */
  memset (buf, 0, 32);
  c = crc32c (0, buf, 32);
  CHECK (c == 0x8A9136AA, "crc32c (32 x 00) = %08X, want 8A9136AA", c);
  memset (buf, 0xff, 32);
  c = crc32c (0, buf, 32);
  CHECK (c == 0x62A8AB43, "crc32c (32 x FF) = %08X, want 62A8AB43", c);

  /* Every length and alignment around the 8-byte fast path. */
  test_fill_random (buf, sizeof buf);
  for (size_t off = 0; off < 8; off++)
    for (size_t len = 0; len < 80; len++) {
      c = crc32c (0, buf + off, len);
      CHECK (c == crc32c_ref (buf + off, len),
             "length %zu at offset %zu: %08X, reference %08X", len, off, c,
             crc32c_ref (buf + off, len));
    }
  /* Around the three-stream blocks (3 x 256 and 3 x 8192 bytes). */
  {
    static const size_t lens[] = { 767, 768, 769, 775, 776, 1536, 4096,
                                   24575, 24576, 24577, 24576 + 768 + 9,
                                   2 * 24576 + 5 };
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
      for (size_t off = 0; off < 2; off++) {
        c = crc32c (0, buf + off, lens[k]);
        CHECK (c == crc32c_ref (buf + off, lens[k]),
               "%zu bytes at offset %zu: %08X, reference %08X", lens[k], off,
               c, crc32c_ref (buf + off, lens[k]));
      }
  }

  /* Feeding the data in pieces gives the same checksum. */
  for (size_t split = 0; split <= 100; split++) {
    uint32_t whole = crc32c (0, buf, 100);
    uint32_t parts = crc32c (crc32c (0, buf, split), buf + split, 100 - split);
    CHECK (whole == parts, "split at %zu: %08X != %08X", split, parts, whole);
  }
  return 0;
}
