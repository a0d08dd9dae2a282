/* libFuzzer harness for the server's side of the remote protocol:
 * frame headers (proto_header_decode) and request payloads
 * (proto_request_decode), on an input read as a stream of frames as
 * "vmbackup serve" reads its standard input.
 *
 * A frame whose payload runs past the input is decoded with what there
 * is.  Every request accepted must respect the documented limits; a
 * violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo/chunk.h"
#include "repo/manifest.h"
#include "remote/protocol.h"

static void
check_request (const struct proto_request *rq, const unsigned char *payload,
               size_t len)
{
  if (strnlen (rq->path, sizeof rq->path) > PROTO_MAX_PATH
      || strnlen (rq->name, sizeof rq->name) > PROTO_MAX_ID
      || strnlen (rq->after, sizeof rq->after) > PROTO_MAX_ID)
    abort ();
  if (rq->data
      && (rq->data < payload || rq->datalen > len
          || rq->data + rq->datalen > payload + len))
    abort ();
  switch (rq->op) {
  case OP_OPEN:
  case OP_INIT:
    if (len < 8 || memcmp (payload, PROTO_MAGIC, 8) != 0)
      abort ();
    break;
  case OP_REFRESH:
    if (rq->count == 0 || rq->count > PROTO_MAX_REFRESH
        || rq->datalen != rq->count * (size_t) DIGEST_LEN)
      abort ();
    break;
  case OP_PUT:
    if (rq->datalen <= CHUNK_HEADER_LEN
        || rq->datalen > CHUNK_HEADER_LEN + REPO_MAX_CHUNK)
      abort ();
    break;
  case OP_INDEX_DATA:
    if (rq->datalen == 0 || rq->datalen > PROTO_MAX_READ)
      abort ();
    break;
  case OP_INDEX_READ:
    if (rq->length == 0 || rq->length > PROTO_MAX_READ)
      abort ();
    break;
  case OP_COMMIT:
    if (rq->datalen == 0 || rq->datalen > MANIFEST_MAX)
      abort ();
    break;
  case OP_MANIFEST_GET:
  case OP_UNRESERVE:
  case OP_DELETE:
  case OP_RESERVE:
  case OP_RESERVE_COPY:
    if (rq->name[0] == '\0')
      abort ();
    break;
  default:
    if (rq->op < 1 || rq->op > OP_MAX)
      abort ();
  }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static struct proto_request rq;

  while (size >= PROTO_HEADER_LEN) {
    struct proto_frame f;
    unsigned char *payload;

    if (proto_header_decode (data, &f) == -1)
      break;
    if (f.len > PROTO_MAX_PAYLOAD)
      abort ();
    data += PROTO_HEADER_LEN;
    size -= PROTO_HEADER_LEN;
    if (f.len > size)
      f.len = size;
    /* A copy of exactly the payload, so that ASan catches any read
     * past it. */
    payload = malloc (f.len ? f.len : 1);
    if (payload == NULL)
      abort ();
    memcpy (payload, data, f.len);
    if (proto_request_decode (&f, payload, &rq) == 0)
      check_request (&rq, payload, f.len);
    free (payload);
    data += f.len;
    size -= f.len;
  }
  return 0;
}
