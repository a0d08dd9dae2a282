/* The data of a copied backup (copy.h): its chunks, the indexes that
 * list them and the stream maps of a file backup, each rebuilt in the
 * target with the target's names for the chunks.  When the keys are the
 * same the names do not change, and the rebuilt index is the source's,
 * byte for byte. */
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/test_hooks.h"
#include "backup_file.h"
#include "copy.h"
#include "index.h"
#include "stream_map.h"

/* Chunks whose fetch (source) or presence check (target) is asked
 * ahead: a backend across a network answers them meanwhile.  The ssh
 * client keeps 8 fetches and 64 checks. */
#define AHEAD 6

/* The compression of what copy encodes (chunks when the keys differ,
 * stream maps): level 3, as file backups have it. */
#define COPY_LEVEL 3

/* Is chunk d stored in the target?  For a dry run on a backend that
 * reads chunk headers: it needs no writer session. */
static int
target_has (struct copy *c, const struct digest *d)
{
  struct backend *be = c->to->be;
  unsigned char hdr[CHUNK_HEADER_LEN];
  uint64_t filelen;
  size_t len;
  int r = be->ops->chunk_head
    ? be->ops->chunk_head (be, d, hdr, sizeof hdr, &filelen)
    : be->ops->chunk_get (be, d, c->file, c->filecap, &len);

  if (r == 0)
    return 1;
  return get_error_kind () == ERROR_MISSING ? 0 : -1;
}

/* Is d there, and (in a writer session) refreshed so that a gc keeps
 * it? */
static int
target_present (struct copy *c, const struct digest *d)
{
  if (!c->writing)
    return target_has (c, d);
  return store_refresh (&c->store, c->worker, d);
}

/* What a killed copy keeps for the next run: chunks are made durable
 * and visible (writer_flush) every so often, not only before an index,
 * so that a large disk copied again does not start over.  A backend
 * that writes in batches pays one flush per this much. */
#define FLUSH_BYTES (64u << 20)
#define FLUSH_CHUNKS 256

int
copy_flush (struct copy *c)
{
  c->unflushed_bytes = c->unflushed_chunks = 0;
  return store_finish (&c->store);
}

static int
count_sent (struct copy *c, size_t bytes)
{
  c->part.chunks_sent++;
  c->part.bytes_sent += bytes;
  if (c->dry_run)
    return 0;
  test_hook_copy_chunk ();
  c->unflushed_bytes += bytes;
  if (++c->unflushed_chunks < FLUSH_CHUNKS && c->unflushed_bytes < FLUSH_BYTES)
    return 0;
  return copy_flush (c);
}

/* Same keys: the chunk file goes as it is stored, after the checks a
 * restore would make (a damaged chunk is not spread). */
static int
copy_as_stored (struct copy *c, const struct digest *d)
{
  size_t len, rawlen;
  int r = target_present (c, d);

  c->last_missing = r == 0;
  if (r != 0) {
    c->part.chunks_present += r == 1;
    return r == -1 ? -1 : 0;
  }
  if (chunk_read_file (c->from, d, c->file, c->filecap, &len) == -1)
    return -1;
  if (!c->dry_run
      && (chunk_decode (c->from_ctx, c->file, len, d, c->raw,
                        c->from->chunk_size, &rawlen)
            == -1
          || store_put_encoded (&c->store, c->worker, d, c->file, len, NULL)
            == -1))
    return -1;
  return count_sent (c, len);
}

/* Keys differ: the data is read, checked and opened with the source's
 * key, and named and sealed with the target's. */
static int
copy_reencoded (struct copy *c, const struct digest *d, struct digest *out)
{
  const unsigned char *enc;
  size_t rawlen, enclen;
  int r;

  if (chunk_load (c->from, c->from_ctx, d, c->raw, &rawlen) == -1
      || chunk_id (c->to_ctx, c->raw, rawlen, out) == -1)
    return -1;
  if (digest_set_get (&c->target_done, out))
    return 0;
  r = target_present (c, out);
  if (r != 0) {
    c->part.chunks_present += r == 1;
    return r == -1 ? -1 : 0;
  }
  if (chunk_encode (c->to_ctx, out, c->raw, rawlen, &enc, &enclen) == -1)
    return -1;
  /* A dry run counts what it would send: the encoding is the size. */
  if (!c->dry_run
      && store_put_encoded (&c->store, c->worker, out, enc, enclen, NULL)
        == -1)
    return -1;
  return count_sent (c, enclen);
}

/* The target's name of source chunk d, copied if the target lacks it. */
static int
copy_chunk (struct copy *c, const struct digest *d, struct digest *out)
{
  uint32_t at;
  int r;

  if (digest_set_get_value (&c->done, d, &at)) {
    *out = c->names.ptr[at];
    return 0;
  }
  *out = *d;
  r = c->same_keys ? copy_as_stored (c, d) : copy_reencoded (c, d, out);
  if (r == -1) {
    char hex[DIGEST_HEX_LEN + 1];
    digest_to_hex (d, hex);
    error_prefix ("chunk %s", hex);
    return -1;
  }
  if (c->names.len >= UINT32_MAX
      || copy_digest_vector_append (&c->names, *out) == -1
      || digest_set_add_value (&c->done, d, 1, c->names.len - 1) == -1
      || digest_set_add (&c->target_done, out, 1) == -1) {
    set_error (ENOMEM, "copy");
    return -1;
  }
  return 0;
}

/* A hint for the chunk that comes AHEAD places later: the source
 * fetches it when it will be read (always, when the keys differ; with
 * the same keys, while the target lacks what comes: missing chunks come
 * in runs, a first copy is one), the target looks for it when its
 * presence decides. */
static void
hint (struct copy *c, const struct digest *d)
{
  if (digest_is_zero (d) || digest_set_get (&c->done, d))
    return;
  if (!c->same_keys || c->last_missing)
    chunk_prefetch (c->from, d);
  if (c->same_keys && c->writing)
    store_refresh_ahead (&c->store, d);
}

int
copy_index (struct copy *c, const struct digest *src, uint64_t size,
            struct digest *dst)
{
  struct index_reader r;
  struct index_writer w = { .fd = -1 };
  bool writing = false;
  struct digest d, t;

  if (index_reader_open (&r, c->from, src) == -1)
    return -1;
  if (r.hdr.disk_size != size) {
    set_error (0, "index of %llu bytes where the manifest says %llu",
               (unsigned long long) r.hdr.disk_size,
               (unsigned long long) size);
    goto fail;
  }
  if (!c->dry_run) {
    if (index_writer_open (&w, c->to, r.hdr.disk_size) == -1)
      goto fail;
    writing = true;
  }
  for (uint64_t i = 0; i < r.hdr.chunk_count; i++) {
    if (i + AHEAD < r.hdr.chunk_count) {
      if (index_reader_get (&r, i + AHEAD, &d) == -1)
        goto fail;
      hint (c, &d);
    }
    if (index_reader_get (&r, i, &d) == -1)
      goto fail;
    if (digest_is_zero (&d))
      continue;
    if (copy_chunk (c, &d, &t) == -1
        || (writing && index_writer_set (&w, i, &t) == -1))
      goto fail;
  }
  index_reader_close (&r);
  if (!writing) {
    *dst = *src;
    return 0;
  }
  /* The chunks are durable and visible before the index that names
   * them. */
  if (copy_flush (c) == -1) {
    index_writer_abort (&w);
    return -1;
  }
  return index_writer_commit (&w, dst);

fail:
  index_reader_close (&r);
  if (writing)
    index_writer_abort (&w);
  return -1;
}

int
copy_stream (struct copy *c, const struct digest *src, uint64_t count,
             uint64_t size, struct digest *dst)
{
  struct stream_map m;
  struct stream_map_writer w = { .fd = -1 };
  uint64_t start, end, map_size;
  struct digest d, t;
  int r = -1;

  if (stream_map_open (&m, c->from, src, count, size) == -1)
    return -1;
  if (!c->dry_run && stream_map_writer_open (&w, c->to) == -1)
    goto out;
  for (uint64_t i = 0; i < count; i++) {
    if (i + AHEAD < count) {
      if (stream_map_get (&m, i + AHEAD, &start, &end, &d) == -1)
        goto out;
      hint (c, &d);
    }
    if (stream_map_get (&m, i, &start, &end, &d) == -1)
      goto out;
    t = d;
    if (!digest_is_zero (&d) && copy_chunk (c, &d, &t) == -1)
      goto out;
    if (!c->dry_run && stream_map_writer_set (&w, i, end, &t) == -1)
      goto out;
  }
  if (c->dry_run) {
    *dst = *src;
    r = 0;
  }
  /* The map is stored as a new file backup stores its own (its chunks
   * are published before its index, inside). */
  else if (copy_flush (c) == 0)
    r = backup_stream_map (&c->store, COPY_LEVEL, w.tmppath, &map_size, dst);
out:
  if (!c->dry_run)
    stream_map_writer_close (&w);
  stream_map_close (&m);
  return r;
}
