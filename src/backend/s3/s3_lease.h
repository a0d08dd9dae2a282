/* Leases: how backups and gc keep out of each other's way on storage
 * without locks (docs/repository-format.pod, S3 REPOSITORIES).
 *
 * A lease is an object locks/<kind>-<random> that its holder writes
 * again every lease/6 seconds (a heartbeat, from a thread of its own).
 * Anyone may read the others: one whose LastModified is more than the
 * lease time behind the server's clock is dead, and no longer holds
 * anyone back.  Times are the server's throughout (LastModified), so
 * the hosts' clocks do not matter; the holder measures its own lease
 * on its monotonic clock from the start of its last heartbeat that
 * succeeded, with a margin, and gives up what it was doing rather than
 * go on under a lease the others may already count as dead.
 *
 * Exclusion comes from the order "write my lease, then list the
 * others" on both sides (S3 lists what was written before, strongly
 * consistent): of a backup and a gc starting at once, at least one
 * sees the other. */
#ifndef VMB_S3_LEASE_H
#define VMB_S3_LEASE_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "s3_client.h"

#define S3_LEASE_DEFAULT 120 /* seconds; $VMBACKUP_S3_LEASE */

struct s3_lease {
  struct s3_client *c;
  char key[64]; /* "locks/writer-<hex>" */
  int lease_s;
  pthread_t thread;
  bool started, stop;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct timespec last_ok; /* CLOCK_MONOTONIC, start of the last beat */
  bool beaten;             /* last_ok is set */
  bool lost;               /* lapsed once: never ours again */
};

/* What a look at locks/ found, besides our own lease.  A gc waits for
 * running backups under a lease "gcwait", which backups ignore, and
 * works under a lease "gc", which they wait for. */
struct s3_lease_scan {
  time_t server_now; /* our own lease's LastModified */
  unsigned live_writers, live_gcs, live_gcs_waiting;
  unsigned removed; /* dead leases deleted (remove_dead) */
};

/* The lease time from $VMBACKUP_S3_LEASE (seconds), or -1 (error set). */
int s3_lease_seconds (void);
/* Write a new lease of kind ("writer", "gc") and start its heartbeat. */
int s3_lease_take (struct s3_lease *l, struct s3_client *c, const char *kind,
                   int lease_s);
/* Stop the heartbeat and delete the lease object (best effort: a lease
 * left behind dies by itself). */
void s3_lease_drop (struct s3_lease *l);
/* Beat now, then list locks/: who else holds a live lease.  Dead leases
 * are deleted when remove_dead. */
int s3_lease_scan (struct s3_lease *l, bool remove_dead,
                   struct s3_lease_scan *out);
/* 0 if the lease is still surely ours, else -1 with an error naming
 * what, which the caller must stop doing. */
int s3_lease_check (struct s3_lease *l, const char *what);

#endif
