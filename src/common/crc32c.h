/* CRC-32C (Castagnoli): the cheap checksum in chunk headers, which
 * catches torn or bit-rotted chunk files before decompression. */
#ifndef VMB_CRC32C_H
#define VMB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c (uint32_t crc, const void *buf, size_t len);

#endif
