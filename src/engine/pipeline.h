/* The stages behind a disk reader (backup_disk.c).
 *
 * A bounded pool of chunk slots is what bounds memory, whatever the
 * disk size.  The reader takes a free slot, fills it and submits it;
 * worker threads (one per core) zero-check, hash and look each chunk up
 * in the repository, and compress a new one in its own slot; writer
 * threads store new chunks and give the slots back.  Writing is a stage
 * of its own because it waits on the disk: a worker that wrote its
 * chunks itself left its core idle for a third of a backup.
 *
 * Locking: everything below marked "under lock" is guarded by
 * pl->lock; each queue has its own condition, so a pushed slot wakes one
 * thread of the stage that wants it, not every thread. */
#ifndef VMB_PIPELINE_H
#define VMB_PIPELINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "repo/index.h"
#include "repo/repo.h"
#include "repo/store.h"

struct pipeline;

struct slot {
  unsigned char *mem; /* CHUNK_IMAGE_ROOM, aligned: the chunk
                                 * file image is made here (in place) */
  unsigned char *buf; /* mem + CHUNK_HEADER_LEN: the data */
  uint64_t chunk;     /* chunk number */
  size_t len;         /* bytes of data */
  size_t enclen;      /* bytes of chunk file image, once encoded */
  struct digest digest;
  int parts_pending; /* reader: NBD reads not yet completed */
  int error;         /* reader: errno of a failed read */
  struct slot *next;
  struct pipeline *pl;
};

struct slot_queue {
  struct slot *head, *tail;
  pthread_cond_t ready;
};

struct pipeline_params {
  struct repo *repo;
  struct store *store;
  struct index_writer *index; /* each stored chunk's digest goes here */
  const char *name;           /* the disk, for error messages */
  int compression_level;
  /* The previous backup's index of this disk, opened after store_begin,
   * or NULL: a chunk whose digest is the one at the same place there is
   * looked up with store_refresh_named. */
  struct index_reader *named;
};

#define PIPELINE_MAX_THREADS 8

struct pipeline_thread {
  struct pipeline *pl;
  pthread_t thread;
  struct chunk_ctx *ctx; /* workers */
  int lock_fd;           /* repo_worker_open () */
};

struct pipeline {
  struct pipeline_params p;
  pthread_mutex_t lock;
  struct slot *slots;
  size_t nslots;
  struct slot_queue free_slots, work, writes; /* under lock */
  struct pipeline_thread workers[PIPELINE_MAX_THREADS];
  struct pipeline_thread writers[PIPELINE_MAX_THREADS];
  size_t nworkers, nwriters; /* started */
  size_t workers_running;    /* under lock */
  bool done_reading;         /* under lock */
  bool failed;               /* under lock */
  char error[1024];          /* the first error */
  uint64_t bytes_done;       /* under lock: chunks done or skipped */
};

/* Allocate the slots and start the threads; on failure everything is
 * released again. */
int pipeline_start (struct pipeline *pl, const struct pipeline_params *p);
/* A free slot, or NULL at once when none is free (or the pipeline has
 * failed: see pipeline_failed). */
struct slot *pipeline_try_slot (struct pipeline *pl);
/* Wait until a slot may be free (or the pipeline failed). */
void pipeline_wait_slot (struct pipeline *pl);
/* Hand over a filled slot. */
void pipeline_submit (struct pipeline *pl, struct slot *s);
/* Count bytes done without a slot (holes, unchanged chunks). */
void pipeline_skipped (struct pipeline *pl, uint64_t bytes);
uint64_t pipeline_bytes_done (struct pipeline *pl);
/* Record the first error (get_error ()) and stop every stage. */
void pipeline_fail (struct pipeline *pl, const char *msg);
bool pipeline_failed (struct pipeline *pl);
/* No more slots will be submitted: wait for every stage to finish and
 * free everything.  -1 with the first error if any stage failed. */
int pipeline_finish (struct pipeline *pl);

#endif
