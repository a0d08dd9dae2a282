/* Byte-order loads and stores for on-disk formats: little-endian for
 * our own, big-endian for qcow2's. */
#ifndef VMB_ENDIAN_H
#define VMB_ENDIAN_H

#include <stddef.h>
#include <stdint.h>

/* Store the low N bytes of V at P, least significant first. */
static inline void
put_le (unsigned char *p, uint64_t v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    p[i] = v >> (8 * i);
}

/* Load N bytes at P, least significant first. */
static inline uint64_t
get_le (const unsigned char *p, size_t n)
{
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v |= (uint64_t) p[i] << (8 * i);
  return v;
}

/* Store the low N bytes of V at P, most significant first. */
static inline void
put_be (unsigned char *p, uint64_t v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    p[i] = v >> (8 * (n - 1 - i));
}

/* Fixed widths. */
#define put_le16(p, v) put_le (p, v, 2)
#define put_le32(p, v) put_le (p, v, 4)
#define put_le64(p, v) put_le (p, v, 8)
#define get_le16(p) ((uint16_t) get_le (p, 2))
#define get_le32(p) ((uint32_t) get_le (p, 4))
#define get_le64(p) get_le (p, 8)
#define put_be16(p, v) put_be (p, v, 2)
#define put_be32(p, v) put_be (p, v, 4)
#define put_be64(p, v) put_be (p, v, 8)

#endif
