/* Client connection over ssh (see conn.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "conn.h"
#include "remote/protocol.h"

extern char **environ;

/* Requests in flight: enough to keep an ssh link busy with chunk
 * uploads, few enough that an answer never waits long for its slot. */
#define MAX_INFLIGHT 64
#define MAX_RSH_WORDS 64

struct slot {
  bool used;
  uint32_t id;
  conn_done_fn done;
  void *opaque;
};

struct conn {
  int fd;
  pid_t pid;
  pthread_t reader;
  bool reader_started;
  pthread_mutex_t lock; /* slots, inflight, dead */
  pthread_cond_t cond;
  pthread_mutex_t send_lock; /* one frame at a time on the socket */
  struct slot slots[MAX_INFLIGHT];
  size_t inflight;
  uint32_t generation;
  bool dead;
  bool failed_all; /* dead, and every request told so */
  bool closing;
  char error[1024];
  unsigned char *rbuf;
};

static int
recv_full (int fd, void *buf, size_t len)
{
  unsigned char *p = buf;

  while (len > 0) {
    ssize_t n = recv (fd, p, len, 0);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      return n == 0 ? 0 : -1;
    p += n;
    len -= n;
  }
  return 1;
}

/* The connection is gone: fail every request in flight. */
static void
fail_all (struct conn *c, const char *why)
{
  struct slot pending[MAX_INFLIGHT];
  size_t n = 0;

  pthread_mutex_lock (&c->lock);
  if (!c->dead) {
    c->dead = true;
    snprintf (c->error, sizeof c->error, "%s", why);
  }
  for (size_t i = 0; i < MAX_INFLIGHT; i++)
    if (c->slots[i].used) {
      pending[n++] = c->slots[i];
      c->slots[i].used = false;
    }
  c->inflight = 0;
  pthread_mutex_unlock (&c->lock);
  for (size_t i = 0; i < n; i++)
    pending[i].done (pending[i].opaque, -1, (const unsigned char *) c->error,
                     strlen (c->error));
  pthread_mutex_lock (&c->lock);
  c->failed_all = true;
  pthread_cond_broadcast (&c->cond);
  pthread_mutex_unlock (&c->lock);
}

static void *
reader_main (void *opaque)
{
  struct conn *c = opaque;
  unsigned char hdr[PROTO_HEADER_LEN];
  struct proto_frame f;
  char why[1024];
  int r;

  for (;;) {
    struct slot s;

    r = recv_full (c->fd, hdr, sizeof hdr);
    if (r <= 0) {
      if (c->closing)
        snprintf (why, sizeof why, "connection closed");
      else
        snprintf (why, sizeof why, "connection to the server lost%s%s",
                  r == -1 ? ": " : "", r == -1 ? strerror (errno) : "");
      break;
    }
    if (proto_header_decode (hdr, &f) == -1) {
      /* Typically a login script printing to stdout, or no vmbackup
       * at the far end. */
      snprintf (why, sizeof why,
                "%s (is the far end 'vmbackup serve'? "
                "see VMBACKUP_REMOTE_PATH)",
                get_error ());
      break;
    }
    r = f.len ? recv_full (c->fd, c->rbuf, f.len) : 1;
    if (r <= 0) {
      snprintf (why, sizeof why, "connection to the server lost");
      break;
    }
    pthread_mutex_lock (&c->lock);
    s = c->slots[f.id % MAX_INFLIGHT];
    pthread_mutex_unlock (&c->lock);
    if (!s.used || s.id != f.id
        || (f.code != ST_OK && f.code != ST_ERROR && f.code != ST_MORE)) {
      snprintf (why, sizeof why,
                "protocol error: unexpected answer (ID %u, "
                "status %u)",
                f.id, f.code);
      break;
    }
    s.done (s.opaque, f.code, c->rbuf, f.len);
    if (f.code != ST_MORE) {
      pthread_mutex_lock (&c->lock);
      c->slots[f.id % MAX_INFLIGHT].used = false;
      c->inflight--;
      pthread_cond_broadcast (&c->cond);
      pthread_mutex_unlock (&c->lock);
    }
  }
  fail_all (c, why);
  return NULL;
}

static int
split_words (char *s, char **argv, size_t max, size_t *n)
{
  for (char *tok = strtok (s, " \t"); tok; tok = strtok (NULL, " \t")) {
    if (*n + 1 >= max) {
      set_error (0, "VMBACKUP_RSH has too many words");
      return -1;
    }
    argv[(*n)++] = tok;
  }
  return 0;
}

static int
spawn_ssh (struct conn *c, const char *user, const char *host,
           const char *port)
{
  const char *rsh = getenv ("VMBACKUP_RSH");
  const char *remote = getenv ("VMBACKUP_REMOTE_PATH");
  CLEANUP_FREE char *words = strdup (rsh && rsh[0] ? rsh : "ssh");
  CLEANUP_FREE char *target = NULL, *command = NULL;
  char *argv[MAX_RSH_WORDS + 8];
  posix_spawn_file_actions_t fa;
  int sv[2], r;
  size_t n = 0;
  int bufsize = 4 << 20;

  if (words == NULL || split_words (words, argv, MAX_RSH_WORDS, &n) == -1
      || n == 0) {
    if (words && n == 0)
      set_error (0, "VMBACKUP_RSH is empty");
    return -1;
  }
  if (port) {
    argv[n++] = (char *) "-p";
    argv[n++] = (char *) port;
  }
  if (asprintf (&target, "%s%s%s", user ? user : "", user ? "@" : "", host)
        == -1
      || asprintf (&command, "%s serve",
                   remote && remote[0] ? remote : "vmbackup")
        == -1) {
    target = command = NULL;
    set_error (ENOMEM, "ssh command");
    return -1;
  }
  argv[n++] = target;
  argv[n++] = command;
  argv[n] = NULL;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
    set_error (errno, "socketpair");
    return -1;
  }
  setsockopt (sv[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  setsockopt (sv[0], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2 (&fa, sv[1], 1);
  r = posix_spawnp (&c->pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (sv[1]);
  if (r != 0) {
    close (sv[0]);
    set_error (r, "run %s", argv[0]);
    return -1;
  }
  c->fd = sv[0];
  return 0;
}

struct conn *
conn_open_ssh (const char *user, const char *host, const char *port)
{
  struct conn *c = calloc (1, sizeof *c);

  if (c == NULL) {
    set_error (errno, "calloc");
    return NULL;
  }
  c->fd = -1;
  c->pid = -1;
  pthread_mutex_init (&c->lock, NULL);
  pthread_mutex_init (&c->send_lock, NULL);
  pthread_cond_init (&c->cond, NULL);
  c->rbuf = malloc (PROTO_MAX_PAYLOAD);
  if (c->rbuf == NULL) {
    set_error (errno, "malloc");
    goto fail;
  }
  if (spawn_ssh (c, user, host, port) == -1)
    goto fail;
  if (pthread_create (&c->reader, NULL, reader_main, c) != 0) {
    set_error (0, "cannot start the connection's reader thread");
    goto fail;
  }
  c->reader_started = true;
  return c;

fail:
  conn_close (c);
  return NULL;
}

void
conn_close (struct conn *c)
{
  if (c == NULL)
    return;
  c->closing = true;
  if (c->fd >= 0)
    shutdown (c->fd, SHUT_WR); /* EOF: the server ends its session */
  if (c->reader_started)
    pthread_join (c->reader, NULL);
  if (c->fd >= 0)
    close (c->fd);
  if (c->pid > 0)
    while (waitpid (c->pid, NULL, 0) == -1 && errno == EINTR)
      ;
  pthread_mutex_destroy (&c->lock);
  pthread_mutex_destroy (&c->send_lock);
  pthread_cond_destroy (&c->cond);
  free (c->rbuf);
  free (c);
}

static int
send_frame (struct conn *c, const unsigned char *hdr, const void *payload,
            size_t len, const void *tail, size_t tail_len)
{
  struct iovec iov[3] = {
    { (void *) hdr, PROTO_HEADER_LEN },
    { (void *) payload, len },
    { (void *) tail, tail_len },
  };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };
  SCOPED_LOCK (&c->send_lock);

  while (msg.msg_iovlen > 0) {
    ssize_t n = sendmsg (c->fd, &msg, MSG_NOSIGNAL);
    if (n == -1 && errno == EINTR)
      continue;
    if (n == -1)
      return -1;
    while (msg.msg_iovlen > 0 && (size_t) n >= msg.msg_iov[0].iov_len) {
      n -= msg.msg_iov[0].iov_len;
      msg.msg_iov++;
      msg.msg_iovlen--;
    }
    if (msg.msg_iovlen > 0) {
      msg.msg_iov[0].iov_base = (char *) msg.msg_iov[0].iov_base + n;
      msg.msg_iov[0].iov_len -= n;
    }
  }
  return 0;
}

int
conn_send (struct conn *c, uint16_t op, const void *payload, size_t len,
           const void *tail, size_t tail_len, conn_done_fn done, void *opaque)
{
  unsigned char hdr[PROTO_HEADER_LEN];
  struct proto_frame f = { .len = len + tail_len, .code = op };
  size_t i;

  if (len + tail_len > PROTO_MAX_PAYLOAD) {
    set_error (EINVAL, "%s request of %zu bytes", proto_op_name (op),
               len + tail_len);
    return -1;
  }
  pthread_mutex_lock (&c->lock);
  while (!c->dead && c->inflight == MAX_INFLIGHT)
    pthread_cond_wait (&c->cond, &c->lock);
  if (c->dead) {
    set_error (0, "%s", c->error);
    pthread_mutex_unlock (&c->lock);
    return -1;
  }
  for (i = 0; c->slots[i].used; i++)
    ;
  /* The low bits name the slot, the rest tell a stale answer from a
   * fresh one. */
  c->generation++;
  f.id = c->generation * MAX_INFLIGHT + i;
  c->slots[i] = (struct slot) {
    .used = true, .id = f.id, .done = done, .opaque = opaque
  };
  c->inflight++;
  pthread_mutex_unlock (&c->lock);
  proto_header_encode (&f, hdr);
  if (send_frame (c, hdr, payload, len, tail, tail_len) == -1) {
    int e = errno;
    /* The reader sees the end of the socket and fails what is in
     * flight, this request included. */
    shutdown (c->fd, SHUT_RDWR);
    /* Our completion may point into the caller's stack: return only
     * once the reader has run it. */
    pthread_mutex_lock (&c->lock);
    while (!c->failed_all)
      pthread_cond_wait (&c->cond, &c->lock);
    pthread_mutex_unlock (&c->lock);
    set_error (e, "send to the server");
    return -1;
  }
  return 0;
}

struct waiter {
  struct conn *c;
  struct conn_reply *reply;
  bool done;
  int status;
  char error[PROTO_MAX_MESSAGE + 1];
};

/* A message from the other end, made safe to print on one line. */
static void
copy_message (char *out, size_t cap, const unsigned char *p, size_t len)
{
  size_t n = len < cap - 1 ? len : cap - 1;

  for (size_t i = 0; i < n; i++)
    out[i] = p[i] < 0x20 || p[i] == 0x7f ? ' ' : p[i];
  out[n] = '\0';
}

static void
waiter_done (void *opaque, int status, const unsigned char *p, size_t len)
{
  struct waiter *w = opaque;
  struct conn_reply *rp = w->reply;

  if (status == ST_MORE) {
    if (rp && rp->more) {
      char line[PROTO_MAX_MESSAGE + 1];
      copy_message (line, sizeof line, p, len);
      rp->more (rp->more_opaque, line);
    }
    return;
  }
  if (status == ST_OK && rp) {
    if (rp->buf && len > rp->cap) {
      status = ST_ERROR;
      snprintf (w->error, sizeof w->error,
                "protocol error: answer of %zu bytes (at most %zu)", len,
                rp->cap);
    }
    else {
      if (rp->buf == NULL) {
        rp->buf = malloc (len + 1);
        if (rp->buf == NULL) {
          status = ST_ERROR;
          snprintf (w->error, sizeof w->error, "out of memory");
        }
        else
          rp->buf[len] = '\0';
      }
      if (rp->buf) {
        memcpy (rp->buf, p, len);
        rp->len = len;
      }
    }
  }
  else if (status != ST_OK)
    copy_message (w->error, sizeof w->error, p, len);
  pthread_mutex_lock (&w->c->lock);
  w->status = status;
  w->done = true;
  pthread_cond_broadcast (&w->c->cond);
  pthread_mutex_unlock (&w->c->lock);
}

int
conn_call (struct conn *c, uint16_t op, const void *payload, size_t len,
           const void *tail, size_t tail_len, struct conn_reply *reply)
{
  struct waiter w = { .c = c, .reply = reply };

  if (conn_send (c, op, payload, len, tail, tail_len, waiter_done, &w) == -1)
    return -1;
  pthread_mutex_lock (&c->lock);
  while (!w.done)
    pthread_cond_wait (&c->cond, &c->lock);
  pthread_mutex_unlock (&c->lock);
  if (w.status != ST_OK) {
    set_error (0, "%s", w.error);
    return -1;
  }
  return 0;
}

int
conn_drain (struct conn *c)
{
  SCOPED_LOCK (&c->lock);

  /* A lost connection is drained once every request was told so. */
  while (c->dead ? !c->failed_all : c->inflight > 0)
    pthread_cond_wait (&c->cond, &c->lock);
  if (c->dead && !c->closing) {
    set_error (0, "%s", c->error);
    return -1;
  }
  return 0;
}
