/* "vmbackup serve": key slot requests (docs/vmbackup-protocol.pod,
 * KEY_LIST to KEY_DELETE).  The server holds no key: it stores slots
 * that parse under their own ID and hands them back; whether one opens
 * is the client's business.  An append-only server refuses KEY_PUT and
 * KEY_DELETE (server.c): key management is the repository admin's. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "repo/keyring.h"
#include "session.h"

int
serve_key_list (struct session *s, const struct proto_request *rq)
{
  char ids[PROTO_MAX_KEYS][BACKEND_KEY_ID_LEN + 1];
  size_t n;

  if (s->repo->be->ops->key_list (s->repo->be, ids, PROTO_MAX_KEYS, &n) == -1)
    return -1;
  pw_u32 (&s->reply, n);
  for (size_t i = 0; i < n; i++)
    pw_str (&s->reply, ids[i]);
  return 0;
}

int
serve_key_get (struct session *s, const struct proto_request *rq)
{
  CLEANUP_FREE char *text = NULL;
  size_t len;

  if (s->repo->be->ops->key_get (s->repo->be, rq->name, &text, &len) == -1)
    return -1;
  strbuf_add (&s->reply, text, len);
  return 0;
}

int
serve_key_put (struct session *s, const struct proto_request *rq)
{
  return keyring_put_text (s->repo, rq->name, (const char *) rq->data,
                           rq->datalen);
}

int
serve_key_delete (struct session *s, const struct proto_request *rq)
{
  /* The last slot stays, whoever asks. */
  return keyring_remove (s->repo, rq->name);
}
