/* A stream written into the repository in content-defined chunks.
 *
 * The caller appends bytes (or reads straight into the writer's buffer);
 * the writer cuts them with FastCDC and hands each chunk to worker
 * threads that hash, compress and store it and record it in the stream
 * map.  Memory is bounded by the buffer (two maximum chunks) and the
 * job slots (two per worker), whatever the stream length. */
#ifndef VMB_STREAM_WRITER_H
#define VMB_STREAM_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "repo/store.h"
#include "repo/stream_map.h"
#include "cdc.h"

struct sw_job;
struct sw_worker;

struct stream_writer {
  struct store *store;
  struct cdc_params cdc;
  int level;
  unsigned char *buf; /* bytes not yet cut: [start, end) */
  size_t cap, start, end;
  uint64_t base; /* stream offset of buf[start] */
  uint64_t chunks;
  struct stream_map_writer map;
  /* Workers (none: chunks are stored by the caller's thread). */
  size_t nworkers;
  struct sw_worker *workers;
  struct sw_job *jobs, *free_jobs, *work_head, *work_tail;
  size_t njobs;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool stopping, failed;
  char error[1024];
  struct chunk_ctx *ctx; /* inline mode */
  int lock_fd;
};

int stream_writer_open (struct stream_writer *w, struct store *store,
                        const struct cdc_params *cdc, size_t nworkers,
                        int level);
/* Room to read into: *p with *avail >= 1 bytes. */
int stream_writer_space (struct stream_writer *w, unsigned char **p,
                         size_t *avail);
/* n bytes were put at the pointer stream_writer_space gave. */
void stream_writer_advance (struct stream_writer *w, size_t n);
int stream_writer_write (struct stream_writer *w, const void *data,
                         size_t len);
/* Cut what is buffered now, at content-defined points and then wherever
 * the buffer ends, so that whole stored chunks can follow. */
int stream_writer_flush (struct stream_writer *w);
/* Append a chunk already in the repository (refreshed by the caller
 * with store_refresh, or all zero) without its bytes.  Only after a
 * flush, or another splice. */
int stream_writer_splice (struct stream_writer *w, const struct digest *d,
                          size_t len);
/* Bytes appended so far: the offset of the next byte. */
uint64_t stream_writer_offset (const struct stream_writer *w);
/* Cut the rest, wait for the workers, store the stream map; *map is its
 * index, *chunks its entry count, *size the stream length. */
int stream_writer_finish (struct stream_writer *w, struct digest *map,
                          uint64_t *chunks, uint64_t *size);
/* Stop the workers and drop the temporary map (after finish, too). */
void stream_writer_close (struct stream_writer *w);

#endif
