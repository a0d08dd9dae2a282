/* Leases as heartbeat objects (see s3_lease.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/error.h"
#include "common/units.h"
#include "s3_lease.h"

static double
ts_seconds (const struct timespec *ts)
{
  return ts->tv_sec + ts->tv_nsec / 1e9;
}

int
s3_lease_seconds (void)
{
  return s3_env_int ("VMBACKUP_S3_LEASE", S3_LEASE_DEFAULT, 3, 86400);
}

/* One heartbeat: the object written again (its LastModified moves). */
static int
beat (struct s3_lease *l)
{
  struct timespec start;
  char body[64];
  int r;

  clock_gettime (CLOCK_MONOTONIC, &start);
  /* A lease that lapsed (this process was stopped, or the server away)
   * may already count as dead to a gc that then went on: renewing it
   * now would hide that.  It stays lost. */
  pthread_mutex_lock (&l->lock);
  if (l->beaten
      && ts_seconds (&start) - ts_seconds (&l->last_ok) >= l->lease_s * 0.75)
    l->lost = true;
  r = l->lost ? -1 : 0;
  pthread_mutex_unlock (&l->lock);
  if (r == -1) {
    set_error (ETIMEDOUT, "lease %s lapsed", l->key);
    return -1;
  }
  snprintf (body, sizeof body, "lease %d\n", l->lease_s);
  r = s3_put (l->c, l->key, body, strlen (body), NULL);
  if (r == 0) {
    pthread_mutex_lock (&l->lock);
    if (!l->lost)
      l->last_ok = start;
    l->beaten = true;
    pthread_mutex_unlock (&l->lock);
  }
  return r;
}

static void *
heartbeat_main (void *opaque)
{
  struct s3_lease *l = opaque;
  double interval = l->lease_s / 6.0;

  pthread_mutex_lock (&l->lock);
  while (!l->stop) {
    struct timespec until;
    double next = ts_seconds (&l->last_ok) + interval;
    /* A failed beat is tried again soon; the lease runs out meanwhile
     * if the server stays away, and s3_lease_check says so. */
    if (next < now_monotonic ())
      next = now_monotonic () + 1;
    until.tv_sec = (time_t) next;
    until.tv_nsec = (long) ((next - until.tv_sec) * 1e9);
    if (pthread_cond_timedwait (&l->cond, &l->lock, &until) == ETIMEDOUT
        && !l->stop) {
      pthread_mutex_unlock (&l->lock);
      beat (l);
      pthread_mutex_lock (&l->lock);
    }
  }
  pthread_mutex_unlock (&l->lock);
  return NULL;
}

int
s3_lease_take (struct s3_lease *l, struct s3_client *c, const char *kind,
               int lease_s)
{
  unsigned char rnd[12];
  char hex[25];
  pthread_condattr_t attr;

  memset (l, 0, sizeof *l);
  l->c = c;
  l->lease_s = lease_s;
  if (RAND_bytes (rnd, sizeof rnd) != 1) {
    set_error (0, "no random bytes for a lease name");
    return -1;
  }
  for (size_t i = 0; i < sizeof rnd; i++)
    snprintf (hex + 2 * i, 3, "%02x", rnd[i]);
  snprintf (l->key, sizeof l->key, "locks/%s-%s", kind, hex);
  pthread_mutex_init (&l->lock, NULL);
  pthread_condattr_init (&attr);
  pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  pthread_cond_init (&l->cond, &attr);
  pthread_condattr_destroy (&attr);
  if (beat (l) == -1) {
    error_prefix ("cannot take a lease");
    goto fail;
  }
  if (pthread_create (&l->thread, NULL, heartbeat_main, l) != 0) {
    s3_delete (c, l->key);
    set_error (0, "cannot start the lease heartbeat thread");
    goto fail;
  }
  l->started = true;
  return 0;
fail:
  pthread_mutex_destroy (&l->lock);
  pthread_cond_destroy (&l->cond);
  l->c = NULL; /* nothing for s3_lease_drop to do */
  return -1;
}

void
s3_lease_drop (struct s3_lease *l)
{
  if (!l->c)
    return;
  if (l->started) {
    pthread_mutex_lock (&l->lock);
    l->stop = true;
    pthread_cond_broadcast (&l->cond);
    pthread_mutex_unlock (&l->lock);
    pthread_join (l->thread, NULL);
    l->started = false;
  }
  s3_delete_cleanup (l->c, l->key);
  pthread_mutex_destroy (&l->lock);
  pthread_cond_destroy (&l->cond);
  l->c = NULL;
}

struct scan_ctx {
  struct s3_lease *l;
  time_t own_mtime;
  bool own_seen;
  struct lease_seen {
    char key[64];
    time_t mtime;
  } * seen;
  size_t n, cap;
};

static int
collect (void *opaque, const char *key, uint64_t size, time_t mtime)
{
  struct scan_ctx *s = opaque;

  if (strcmp (key, s->l->key) == 0) {
    s->own_mtime = mtime;
    s->own_seen = true;
    return 0;
  }
  if (strlen (key) >= sizeof s->seen->key)
    return 0; /* not a lease of ours */
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    struct lease_seen *p = realloc (s->seen, cap * sizeof *p);
    if (!p) {
      set_error (ENOMEM, "lease listing");
      return -1;
    }
    s->seen = p;
    s->cap = cap;
  }
  snprintf (s->seen[s->n].key, sizeof s->seen->key, "%s", key);
  s->seen[s->n++].mtime = mtime;
  return 0;
}

/* What the lease is for, in its lapse's message. */
static const char *
lease_what (const struct s3_lease *l)
{
  return strncmp (l->key, "locks/gc", 8) == 0 ? "gc" : "backup";
}

int
s3_lease_scan (struct s3_lease *l, bool remove_dead, struct s3_lease_scan *out)
{
  struct scan_ctx s = { .l = l };
  int r = -1;

  memset (out, 0, sizeof *out);
  /* A process stopped past its lease, in the middle of this look, finds
   * its lease gone (a gc deleted it as dead) or fails to renew it: it
   * says it lapsed, as every other request of it would. */
  if (beat (l) == -1 || s3_list (l->c, "locks/", collect, &s) == -1) {
    s3_lease_check (l, lease_what (l));
    goto out;
  }
  if (!s.own_seen) {
    if (s3_lease_check (l, lease_what (l)) == 0)
      set_error (EIO, "%s: our lease is not listed after it was written",
                 l->key);
    goto out;
  }
  out->server_now = s.own_mtime;
  for (size_t i = 0; i < s.n; i++) {
    bool writer = strncmp (s.seen[i].key, "locks/writer-", 13) == 0;
    bool gc = strncmp (s.seen[i].key, "locks/gc-", 9) == 0;
    bool gc_waiting = strncmp (s.seen[i].key, "locks/gcwait-", 13) == 0;
    /* One second of slack: LastModified has whole seconds. */
    bool dead = s.seen[i].mtime + l->lease_s + 1 < out->server_now;

    if (!writer && !gc && !gc_waiting)
      continue;
    if (dead) {
      if (remove_dead && s3_delete (l->c, s.seen[i].key) == 0)
        out->removed++;
      continue;
    }
    if (writer)
      out->live_writers++;
    else if (gc)
      out->live_gcs++;
    else
      out->live_gcs_waiting++;
  }
  r = 0;
out:
  free (s.seen);
  return r;
}

int
s3_lease_check (struct s3_lease *l, const char *what)
{
  double age;
  bool lost;

  pthread_mutex_lock (&l->lock);
  age = now_monotonic () - ts_seconds (&l->last_ok);
  if (age >= l->lease_s * 0.75)
    l->lost = true;
  lost = l->lost;
  pthread_mutex_unlock (&l->lock);
  /* A quarter of the lease as margin for the two clocks' rates and the
   * time a request takes to land. */
  if (!lost)
    return 0;
  set_error (ETIMEDOUT,
             "%s: abandoned: lease %s not renewed for %.0f s of %d (the "
             "S3 server was unreachable, or this process stopped), so a gc "
             "may count it as dead",
             what, l->key, age, l->lease_s);
  return -1;
}
