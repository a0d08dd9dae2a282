/* Scope-bound cleanup for heap memory, file descriptors and locks, so that
 * every early return releases what the function acquired (the nbdkit
 * common/utils/cleanup.h idiom). */
#ifndef VMB_CLEANUP_H
#define VMB_CLEANUP_H

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cleanup_free (void *ptr)
{
  free (*(void **) ptr);
}
#define CLEANUP_FREE __attribute__ ((cleanup (cleanup_free)))

static inline void
cleanup_close (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}
#define CLEANUP_CLOSE __attribute__ ((cleanup (cleanup_close)))

static inline void
cleanup_unlock (pthread_mutex_t **m)
{
  pthread_mutex_unlock (*m);
}
#define SCOPED_LOCK(m)                                                     \
  __attribute__ ((cleanup (cleanup_unlock))) pthread_mutex_t *scoped_lock_ \
    = (m);                                                                 \
  pthread_mutex_lock (scoped_lock_)

#endif
