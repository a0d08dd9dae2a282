/* Writing a fresh qcow2 image directly, without qemu-nbd: restore knows
 * from the index, before reading any chunk, which chunks hold data, so
 * the whole image can be laid out up front (qcow2 version 3, 64 KiB
 * clusters, 16-bit refcounts, no backing file):
 *
 *   header | L1 table | refcount table | refcount blocks | L2 tables |
 *   data: the clusters of every non-zero chunk, in chunk order
 *
 * Workers then write each chunk's bytes at its fixed place (in parallel,
 * around the page cache), and the metadata is written once at the end.
 * Zero chunks are unallocated clusters; zero blocks inside a chunk are
 * left as holes in the file, so the image stays thin.
 *
 * Memory: one bit per chunk plus a count per 64 chunks (about 160 KiB
 * for a 4 TiB disk of 4 MiB chunks); L2 tables and refcount blocks are
 * written one cluster at a time. */
#ifndef VMB_QCOW2_LAYOUT_H
#define VMB_QCOW2_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#define QCOW2_CLUSTER_BITS 16
#define QCOW2_CLUSTER ((uint64_t) 1 << QCOW2_CLUSTER_BITS)

struct qcow2_layout {
  uint64_t disk_size;
  uint32_t chunk_size; /* a multiple of the cluster size */
  uint64_t nchunks;
  uint64_t *present; /* bit per chunk: holds data */
  uint64_t *rank;    /* present chunks before each 64-chunk word */
  uint64_t npresent;
  uint64_t l1_entries, l1_offset, l1_clusters;
  uint64_t rt_offset, rt_clusters; /* refcount table */
  uint64_t rb_offset, rb_clusters; /* refcount blocks */
  uint64_t l2_offset, l2_tables;
  uint64_t data_offset;
  uint64_t total_clusters; /* the whole file */
};

/* Start a layout for a disk of disk_size bytes cut in chunks of
 * chunk_size; mark the chunks with data, then plan. */
int qcow2_layout_init (struct qcow2_layout *q, uint64_t disk_size,
                       uint32_t chunk_size);
void qcow2_layout_mark (struct qcow2_layout *q, uint64_t chunk);
int qcow2_layout_plan (struct qcow2_layout *q);
/* Where chunk i's first byte goes in the file (i must be marked). */
uint64_t qcow2_layout_chunk_offset (const struct qcow2_layout *q, uint64_t i);
/* Size the file and write every metadata cluster to fd. */
int qcow2_layout_write_metadata (const struct qcow2_layout *q, int fd);
void qcow2_layout_free (struct qcow2_layout *q);

#endif
