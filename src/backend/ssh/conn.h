/* The client's end of a protocol connection: the ssh process, a reader
 * thread that matches answers to requests, and a bounded window of
 * requests in flight.
 *
 * Any thread may send.  A request is either waited for (conn_call) or
 * sent with a completion function that the reader thread runs when its
 * answer arrives (conn_send): that is how chunk uploads and index
 * downloads keep the link full instead of paying a round trip each. */
#ifndef VMB_REMOTE_CONN_H
#define VMB_REMOTE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

struct conn;

/* Called on the reader thread with each frame answering the request:
 * status ST_MORE (zero or more times), then ST_OK or ST_ERROR; status
 * -1 means the connection was lost (payload: the reason). */
typedef void (*conn_done_fn) (void *opaque, int status,
                              const unsigned char *payload, size_t len);

/* Run "RSH... [-p PORT] [USER@]HOST REMOTE_PATH serve" and connect to
 * its standard input and output. */
struct conn *conn_open_ssh (const char *user, const char *host,
                            const char *port);
/* Send EOF, wait for the server to finish and reap ssh. */
void conn_close (struct conn *c);

int conn_send (struct conn *c, uint16_t op, const void *payload, size_t len,
               const void *tail, size_t tail_len, conn_done_fn done,
               void *opaque);

/* The answer of a waited-for request.  OK: payload in *reply (caller's
 * buffer buf of capacity cap when buf != NULL, else malloc'd).  On
 * ST_ERROR the server's message becomes the error. */
struct conn_reply {
  unsigned char *buf;
  size_t cap;
  size_t len;
  /* ST_MORE lines, if the request produces them */
  void (*more) (void *opaque, const char *line);
  void *more_opaque;
};

int conn_call (struct conn *c, uint16_t op, const void *payload, size_t len,
               const void *tail, size_t tail_len, struct conn_reply *reply);

/* Wait until every request sent so far has been answered. */
int conn_drain (struct conn *c);

#endif
