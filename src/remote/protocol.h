/* The vmbackup remote protocol: framing and the encoding of every
 * request (docs/vmbackup-protocol.pod is the full description).
 *
 * Each message is a frame: a 12-byte header (u32 payload length, u32
 * request ID, u16 code, u16 zero; little-endian) and the payload.  The
 * code of a request is its operation, that of a response its status.
 * The client may send many requests before reading any response; the
 * server answers in the order it received them, echoing the request ID.
 *
 * Sizes are bounded so that neither side ever needs more than one
 * largest chunk in memory per frame: see the PROTO_MAX_* limits. */
#ifndef VMB_PROTOCOL_H
#define VMB_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "common/digest.h"
#include "common/format.h"

#define PROTO_MAGIC "VMBPROTO"
#define PROTO_VERSION 1
#define PROTO_HEADER_LEN 12

/* A PUT: a digest and the largest chunk file. */
#define PROTO_MAX_PAYLOAD \
  (DIGEST_LEN + FORMAT_CHUNK_FILE_MAX (FORMAT_MAX_CHUNK))
#define PROTO_MAX_READ (1 << 20) /* INDEX_READ, INDEX_DATA bytes */
#define PROTO_MAX_PATH 4096
#define PROTO_MAX_ID 255       /* backup name or ID */
#define PROTO_MAX_REFRESH 1024 /* digests in one REFRESH */
#define PROTO_MAX_LIST 1024    /* IDs in one LIST answer */
#define PROTO_MAX_MESSAGE 4096 /* error and MORE text */
/* How far a client's backup times may be from the server's clock:
 * hosts' clocks differ a little, and a backup reserves its ID a few
 * seconds after it records its start. */
#define PROTO_TIME_SKEW 300
#define PROTO_KEY_ID_LEN 16 /* a key slot's ID: hex digits */
#define PROTO_MAX_KEY 1024  /* a key slot's text */
#define PROTO_MAX_KEYS 32   /* slot IDs in one KEY_LIST answer */

enum proto_op {
  OP_OPEN = 1,
  OP_INIT = 2,
  OP_REFRESH = 3,
  OP_PUT = 4,
  OP_GET = 5,
  OP_FINISH = 6,
  OP_END = 7,
  OP_INDEX_BEGIN = 8,
  OP_INDEX_DATA = 9,
  OP_INDEX_COMMIT = 10,
  OP_INDEX_SIZE = 11,
  OP_INDEX_READ = 12,
  OP_LIST = 13,
  OP_MANIFEST_GET = 14,
  OP_RESERVE = 15,
  OP_UNRESERVE = 16,
  OP_COMMIT = 17,
  OP_DELETE = 18,
  OP_GC = 19,
  OP_VERIFY = 20,
  OP_KEY_LIST = 21,
  OP_KEY_GET = 22,
  OP_KEY_PUT = 23,
  OP_KEY_DELETE = 24,
  OP_RESERVE_COPY = 25,
  OP_MAX = 25,
};

enum proto_status {
  ST_OK = 0,
  ST_ERROR = 1, /* payload: a one-line message */
  ST_MORE = 2,  /* a line of output; the answer follows */
};

/* OPEN answer flags */
#define PROTO_APPEND_ONLY 1

struct proto_frame {
  uint32_t len; /* payload bytes */
  uint32_t id;
  uint16_t code;
};

void proto_header_encode (const struct proto_frame *f, unsigned char *out);
/* Check and decode a frame header (length within PROTO_MAX_PAYLOAD,
 * reserved bits zero). */
int proto_header_decode (const unsigned char *in, struct proto_frame *f);

/* A decoded request.  Pointers point into the payload it came from. */
struct proto_request {
  uint16_t op;
  uint32_t version;              /* OPEN, INIT */
  char path[PROTO_MAX_PATH + 1]; /* OPEN, INIT */
  char name[PROTO_MAX_ID + 1];   /* backup name or ID; LIST: "" = all;
                                  * RESERVE_COPY: the exact ID;
                                  * INIT, KEY_*: key slot ID */
  char after[PROTO_MAX_ID + 1];  /* LIST: the last ID already received */
  uint32_t chunk_size;           /* INIT */
  uint32_t encryption;           /* INIT: 0, or the first slot follows */
  struct digest digest;
  uint32_t count; /* REFRESH: digests at data */
  uint64_t offset, length;
  int64_t time;              /* RESERVE */
  bool dry_run;              /* GC */
  const unsigned char *data; /* PUT: chunk file; INDEX_DATA: bytes;
                                 * COMMIT: manifest; VERIFY: IDs, one
                                 * per line; INIT, KEY_PUT: key slot */
  size_t datalen;
};

/* Decode the payload of request frame f, checking every field against
 * the limits; trailing bytes are an error. */
int proto_request_decode (const struct proto_frame *f,
                          const unsigned char *payload,
                          struct proto_request *rq);

/* Reading fields of a payload; a read past the end sets bad. */
struct proto_reader {
  const unsigned char *p;
  size_t left;
  bool bad;
};

uint8_t pr_u8 (struct proto_reader *r);
uint32_t pr_u32 (struct proto_reader *r);
uint64_t pr_u64 (struct proto_reader *r);
void pr_digest (struct proto_reader *r, struct digest *d);
/* A string (u32 length, bytes, no NUL inside) of at most max bytes. */
void pr_str (struct proto_reader *r, char *out, size_t max);
/* A byte string (u32 length, bytes) of at most max bytes. */
void pr_bytes (struct proto_reader *r, const unsigned char **p, size_t *len,
               size_t max);

/* Writing fields (strbuf: aborts only on out of memory). */
void pw_u8 (struct strbuf *sb, uint8_t v);
void pw_u32 (struct strbuf *sb, uint32_t v);
void pw_u64 (struct strbuf *sb, uint64_t v);
void pw_digest (struct strbuf *sb, const struct digest *d);
void pw_str (struct strbuf *sb, const char *s);
void pw_bytes (struct strbuf *sb, const void *p, size_t len);

const char *proto_op_name (uint16_t op);

#endif
