/* Byte-order loads and stores for on-disk formats: little-endian for
 * our own, big-endian for qcow2's. */
#ifndef VMB_ENDIAN_H
#define VMB_ENDIAN_H

#include <stdint.h>

static inline void
put_le32 (unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = v >> (8 * i);
}

static inline void
put_le64 (unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = v >> (8 * i);
}

static inline uint32_t
get_le32 (const unsigned char *p)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t) p[i] << (8 * i);
  return v;
}

static inline uint64_t
get_le64 (const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t) p[i] << (8 * i);
  return v;
}

static inline void
put_be16 (unsigned char *p, uint16_t v)
{
  p[0] = v >> 8;
  p[1] = v;
}

static inline void
put_be32 (unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = v >> (8 * (3 - i));
}

static inline void
put_be64 (unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = v >> (8 * (7 - i));
}

#endif
