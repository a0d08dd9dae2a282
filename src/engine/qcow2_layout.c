/* Laying out and writing a fresh qcow2 image (see qcow2_layout.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/endian.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "qcow2_layout.h"

#define QCOW2_MAGIC 0x514649fb
#define HEADER_LENGTH 104 /* version 3 header, no extensions */
#define L2_ENTRIES (QCOW2_CLUSTER / 8)
#define REFCOUNTS_PER_BLOCK (QCOW2_CLUSTER / 2) /* 16-bit refcounts */
#define COPIED (1ULL << 63)                     /* refcount is exactly 1 */

static uint64_t
div_up (uint64_t a, uint64_t b)
{
  return (a + b - 1) / b;
}

int
qcow2_layout_init (struct qcow2_layout *q, uint64_t disk_size,
                   uint32_t chunk_size)
{
  memset (q, 0, sizeof *q);
  if (chunk_size % QCOW2_CLUSTER != 0) {
    set_error (0, "chunk size %u is not a multiple of qcow2 clusters",
               chunk_size);
    return -1;
  }
  q->disk_size = disk_size;
  q->chunk_size = chunk_size;
  q->nchunks = div_up (disk_size, chunk_size);
  q->present = calloc (div_up (q->nchunks, 64) + 1, sizeof *q->present);
  q->rank = calloc (div_up (q->nchunks, 64) + 1, sizeof *q->rank);
  if (q->present == NULL || q->rank == NULL) {
    qcow2_layout_free (q);
    set_error (ENOMEM, "qcow2 layout");
    return -1;
  }
  return 0;
}

void
qcow2_layout_mark (struct qcow2_layout *q, uint64_t chunk)
{
  q->present[chunk / 64] |= 1ULL << (chunk % 64);
}

static bool
is_present (const struct qcow2_layout *q, uint64_t chunk)
{
  return chunk < q->nchunks && (q->present[chunk / 64] >> (chunk % 64)) & 1;
}

/* Clusters of data chunk i occupies: the last chunk may be short. */
static uint64_t
chunk_clusters (const struct qcow2_layout *q, uint64_t i)
{
  uint64_t start = i * q->chunk_size;
  uint64_t len = q->disk_size - start < q->chunk_size ? q->disk_size - start
                                                      : q->chunk_size;

  return div_up (len, QCOW2_CLUSTER);
}

int
qcow2_layout_plan (struct qcow2_layout *q)
{
  uint64_t words = div_up (q->nchunks, 64), data_clusters, meta, total;
  uint64_t guest_clusters = div_up (q->disk_size, QCOW2_CLUSTER);
  uint64_t reach = L2_ENTRIES * QCOW2_CLUSTER; /* 512 MiB per L2 */
  uint64_t last_l2 = 0;

  q->npresent = 0;
  for (uint64_t w = 0; w < words; w++) {
    q->rank[w] = q->npresent;
    q->npresent += __builtin_popcountll (q->present[w]);
  }
  /* One L2 table for each 512 MiB of the disk that holds data. */
  q->l2_tables = 0;
  for (uint64_t i = 0; i < q->nchunks; i++) {
    uint64_t start = i * q->chunk_size;
    uint64_t end = q->disk_size - start < q->chunk_size
      ? q->disk_size
      : start + q->chunk_size;
    if (!is_present (q, i))
      continue;
    for (uint64_t t = start / reach; t <= (end - 1) / reach; t++)
      if (q->l2_tables == 0 || t > last_l2) {
        q->l2_tables++;
        last_l2 = t;
      }
  }
  data_clusters = q->npresent
    ? (q->npresent - 1) * (q->chunk_size / QCOW2_CLUSTER)
      + (is_present (q, q->nchunks - 1) ? chunk_clusters (q, q->nchunks - 1)
                                        : q->chunk_size / QCOW2_CLUSTER)
    : 0;
  q->l1_entries = div_up (guest_clusters, L2_ENTRIES);
  q->l1_clusters = div_up (q->l1_entries * 8, QCOW2_CLUSTER);
  if (q->l1_clusters == 0)
    q->l1_clusters = 1;
  /* The refcount blocks count themselves and the table that names them:
   * grow both until they cover the whole file. */
  q->rb_clusters = 1;
  q->rt_clusters = 1;
  for (;;) {
    meta = 1 + q->l1_clusters + q->rt_clusters + q->rb_clusters + q->l2_tables;
    total = meta + data_clusters;
    uint64_t rb = div_up (total, REFCOUNTS_PER_BLOCK);
    uint64_t rt = div_up (rb * 8, QCOW2_CLUSTER);
    if (rb <= q->rb_clusters && rt <= q->rt_clusters)
      break;
    q->rb_clusters = rb > q->rb_clusters ? rb : q->rb_clusters;
    q->rt_clusters = rt > q->rt_clusters ? rt : q->rt_clusters;
  }
  q->l1_offset = QCOW2_CLUSTER;
  q->rt_offset = q->l1_offset + q->l1_clusters * QCOW2_CLUSTER;
  q->rb_offset = q->rt_offset + q->rt_clusters * QCOW2_CLUSTER;
  q->l2_offset = q->rb_offset + q->rb_clusters * QCOW2_CLUSTER;
  q->data_offset = q->l2_offset + q->l2_tables * QCOW2_CLUSTER;
  q->total_clusters = total;
  return 0;
}

uint64_t
qcow2_layout_chunk_offset (const struct qcow2_layout *q, uint64_t i)
{
  uint64_t before = q->rank[i / 64]
    + __builtin_popcountll (q->present[i / 64] & ((1ULL << (i % 64)) - 1));

  return q->data_offset + before * q->chunk_size;
}

/* The host offset of the guest cluster c, or 0 when unallocated. */
static uint64_t
host_cluster (const struct qcow2_layout *q, uint64_t c)
{
  uint64_t byte = c * QCOW2_CLUSTER, i = byte / q->chunk_size;

  if (byte >= q->disk_size || !is_present (q, i))
    return 0;
  return qcow2_layout_chunk_offset (q, i) + (byte - i * q->chunk_size);
}

static int
write_cluster (int fd, const unsigned char *buf, uint64_t offset)
{
  if (write_full (fd, buf, QCOW2_CLUSTER, offset) == -1) {
    set_error (errno, "write qcow2 metadata at %llu",
               (unsigned long long) offset);
    return -1;
  }
  return 0;
}

int
qcow2_layout_write_metadata (const struct qcow2_layout *q, int fd)
{
  uint64_t l1_len = q->l1_clusters * QCOW2_CLUSTER;
  unsigned char *buf = calloc (1, QCOW2_CLUSTER);
  unsigned char *l1 = calloc (1, l1_len);
  uint64_t next_l2 = q->l2_offset;
  int r = -1;

  if (buf == NULL || l1 == NULL) {
    set_error (ENOMEM, "qcow2 metadata");
    goto out;
  }
  if (ftruncate (fd, q->total_clusters * QCOW2_CLUSTER) == -1) {
    set_error (errno, "size qcow2 image");
    goto out;
  }
  /* L2 tables, in disk order, and the L1 entries naming them. */
  for (uint64_t t = 0; t < q->l1_entries; t++) {
    bool any = false;
    memset (buf, 0, QCOW2_CLUSTER);
    for (uint64_t e = 0; e < L2_ENTRIES; e++) {
      uint64_t host = host_cluster (q, t * L2_ENTRIES + e);
      if (host) {
        put_be64 (buf + e * 8, host | COPIED);
        any = true;
      }
    }
    if (!any)
      continue;
    if (next_l2 >= q->data_offset) {
      set_error (0, "qcow2 layout: more L2 tables than planned");
      goto out;
    }
    if (write_cluster (fd, buf, next_l2) == -1)
      goto out;
    put_be64 (l1 + t * 8, next_l2 | COPIED);
    next_l2 += QCOW2_CLUSTER;
  }
  if (next_l2 != q->data_offset) {
    set_error (0, "qcow2 layout: fewer L2 tables than planned");
    goto out;
  }
  if (write_full (fd, l1, l1_len, q->l1_offset) == -1) {
    set_error (errno, "write qcow2 L1 table");
    goto out;
  }
  /* Every cluster of the file is used exactly once. */
  for (uint64_t b = 0; b < q->rb_clusters; b++) {
    memset (buf, 0, QCOW2_CLUSTER);
    for (uint64_t k = 0; k < REFCOUNTS_PER_BLOCK; k++)
      if (b * REFCOUNTS_PER_BLOCK + k < q->total_clusters)
        put_be16 (buf + k * 2, 1);
    if (write_cluster (fd, buf, q->rb_offset + b * QCOW2_CLUSTER) == -1)
      goto out;
  }
  for (uint64_t c = 0; c < q->rt_clusters; c++) {
    memset (buf, 0, QCOW2_CLUSTER);
    for (uint64_t k = 0; k < QCOW2_CLUSTER / 8; k++) {
      uint64_t b = c * (QCOW2_CLUSTER / 8) + k;
      if (b < q->rb_clusters)
        put_be64 (buf + k * 8, q->rb_offset + b * QCOW2_CLUSTER);
    }
    if (write_cluster (fd, buf, q->rt_offset + c * QCOW2_CLUSTER) == -1)
      goto out;
  }
  /* The header last: until it is there, the file is not a qcow2 image. */
  memset (buf, 0, QCOW2_CLUSTER);
  put_be32 (buf + 0, QCOW2_MAGIC);
  put_be32 (buf + 4, 3);
  put_be32 (buf + 20, QCOW2_CLUSTER_BITS);
  put_be64 (buf + 24, q->disk_size);
  put_be32 (buf + 36, q->l1_entries);
  put_be64 (buf + 40, q->l1_offset);
  put_be64 (buf + 48, q->rt_offset);
  put_be32 (buf + 56, q->rt_clusters);
  put_be32 (buf + 96, 4); /* refcount_order: 16 bits */
  put_be32 (buf + 100, HEADER_LENGTH);
  r = write_cluster (fd, buf, 0);
out:
  free (buf);
  free (l1);
  return r;
}

void
qcow2_layout_free (struct qcow2_layout *q)
{
  free (q->present);
  free (q->rank);
  q->present = q->rank = NULL;
}
