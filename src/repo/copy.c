/* Copying backups between repositories: the run and each backup's
 * manifest (copy.h).  The data is copy_data.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "crypto/keys.h"
#include "copy.h"

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Do both repositories name and seal chunks alike?  Both in the clear,
 * or both opened to the same working keys ('init --key-from'). */
static bool
same_keys (const struct repo *a, const struct repo *b)
{
  if (a->encryption == 0 || b->encryption == 0)
    return a->encryption == b->encryption;
  return a->keys->cipher == b->keys->cipher
    && CRYPTO_memcmp (a->keys->id, b->keys->id, sizeof a->keys->id) == 0
    && CRYPTO_memcmp (a->keys->data, b->keys->data, sizeof a->keys->data) == 0
    && CRYPTO_memcmp (a->keys->meta, b->keys->meta, sizeof a->keys->meta) == 0;
}

static int
check_pair (struct repo *from, struct repo *to)
{
  if (strcmp (from->id, to->id) == 0) {
    set_error (0,
               "%s and %s are the same repository (ID %s): nothing to "
               "copy",
               from->path, to->path, from->id);
    return -1;
  }
  if (from->chunk_size != to->chunk_size) {
    set_error (0,
               "chunk sizes differ (%s: %u, %s: %u): copy needs a target "
               "made with 'init --chunk-size %u'",
               from->path, from->chunk_size, to->path, to->chunk_size,
               from->chunk_size);
    return -1;
  }
  if ((from->encryption && from->keys == NULL)
      || (to->encryption && to->keys == NULL)) {
    set_error (0, "repository %s is encrypted: its key is needed",
               from->encryption && from->keys == NULL ? from->path : to->path);
    return -1;
  }
  return 0;
}

int
copy_open (struct copy *c, struct repo *from, struct repo *to, bool dry_run)
{
  memset (c, 0, sizeof *c);
  c->from = from;
  c->to = to;
  c->dry_run = dry_run;
  c->worker = -1;
  digest_set_init_values (&c->done);
  digest_set_init (&c->target_done);
  if (check_pair (from, to) == -1)
    return -1;
  c->same_keys = same_keys (from, to);
  /* The target's backups, listed once: a backup it has is skipped. */
  if (to->be->ops->manifest_list (to->be, NULL, &c->target_ids,
                                  &c->n_target_ids)
      == -1) {
    error_prefix ("list backups of %s", to->path);
    goto fail;
  }
  if (c->n_target_ids)
    qsort (c->target_ids, c->n_target_ids, sizeof *c->target_ids, cmp_str);
  c->filecap = CHUNK_IMAGE_ROOM (from->chunk_size);
  if (posix_memalign ((void **) &c->file, CHUNK_ALIGN, c->filecap) != 0)
    c->file = NULL;
  c->raw = malloc (from->chunk_size);
  c->from_ctx = chunk_ctx_for (from, 3);
  c->to_ctx = chunk_ctx_for (to, 3);
  if (c->file == NULL || c->raw == NULL || c->from_ctx == NULL
      || c->to_ctx == NULL) {
    set_error (ENOMEM, "copy");
    goto fail;
  }
  /* A dry run asks the target for chunk headers; a backend that cannot
   * give them alone (ssh) is asked in a writer session, where the
   * question is a refresh (batched) rather than a download of the whole
   * chunk.  A refresh changes no data, only how long gc waits. */
  if (dry_run && to->be->ops->chunk_head)
    return 0;
  c->worker = repo_worker_open (to);
  if (c->worker == -1 || store_begin (&c->store, to) == -1)
    goto fail;
  c->writing = true;
  return 0;

fail:
  copy_close (c);
  return -1;
}

void
copy_close (struct copy *c)
{
  if (c->writing)
    store_end (&c->store);
  c->writing = false;
  if (c->worker >= 0)
    close (c->worker);
  c->worker = -1;
  for (size_t i = 0; i < c->n_target_ids; i++)
    free (c->target_ids[i]);
  free (c->target_ids);
  c->target_ids = NULL;
  c->n_target_ids = 0;
  free (c->file);
  free (c->raw);
  c->file = c->raw = NULL;
  chunk_ctx_free (c->from_ctx);
  chunk_ctx_free (c->to_ctx);
  c->from_ctx = c->to_ctx = NULL;
  digest_set_free (&c->done);
  digest_set_free (&c->target_done);
  copy_digest_vector_reset (&c->names);
}

static bool
target_has_backup (const struct copy *c, const char *id)
{
  return c->n_target_ids
    && bsearch (&id, c->target_ids, c->n_target_ids, sizeof *c->target_ids,
                cmp_str)
    != NULL;
}

/* The target has id from now on (the same ID given twice is copied
 * once). */
static void
note_copied (struct copy *c, const char *id)
{
  char *dup = strdup (id);
  char **grown = dup
    ? realloc (c->target_ids, (c->n_target_ids + 1) * sizeof *c->target_ids)
    : NULL;

  if (grown == NULL) {
    free (dup); /* only costs a clear "exists" error if asked again */
    return;
  }
  c->target_ids = grown;
  c->target_ids[c->n_target_ids++] = dup;
  qsort (c->target_ids, c->n_target_ids, sizeof *c->target_ids, cmp_str);
}

/* A copy of m to rewrite: through its text, which every field has. */
static struct manifest *
manifest_dup (const struct manifest *m)
{
  CLEANUP_FREE char *text = manifest_serialize (m);
  struct manifest *d = calloc (1, sizeof *d);

  if (text == NULL || d == NULL) {
    free (d);
    set_error (ENOMEM, "copy manifest");
    return NULL;
  }
  if (manifest_parse (text, strlen (text), d) == -1) {
    manifest_free (d);
    return NULL;
  }
  return d;
}

static void
add_stats (struct copy_stats *to, const struct copy_stats *from)
{
  to->chunks_sent += from->chunks_sent;
  to->bytes_sent += from->bytes_sent;
  to->chunks_present += from->chunks_present;
}

/* Copy what m names; each part's stored-new becomes what the copy
 * stored for it in the target. */
static int
copy_parts (struct copy *c, struct manifest *m, struct copy_stats *st)
{
  for (size_t i = 0; i < m->disks.len; i++) {
    struct manifest_disk *d = &m->disks.ptr[i];
    memset (&c->part, 0, sizeof c->part);
    if (copy_index (c, &d->index, d->size, &d->index) == -1) {
      error_prefix ("disk %s", d->name);
      return -1;
    }
    d->stored_new = c->part.bytes_sent;
    add_stats (st, &c->part);
  }
  for (size_t i = 0; i < m->files.len; i++) {
    struct manifest_file *f = &m->files.ptr[i];
    memset (&c->part, 0, sizeof c->part);
    if (copy_index (c, &f->index, f->size, &f->index) == -1) {
      error_prefix ("file %s", f->role);
      return -1;
    }
    add_stats (st, &c->part);
  }
  if (m->archive.present) {
    struct manifest_archive *a = &m->archive;
    memset (&c->part, 0, sizeof c->part);
    if (copy_stream (c, &a->data_map, a->data_chunks, a->data_size,
                     &a->data_map)
          == -1
        || copy_stream (c, &a->catalogue_map, a->catalogue_chunks,
                        a->catalogue_size, &a->catalogue_map)
          == -1) {
      error_prefix ("archive");
      return -1;
    }
    a->stored_new = c->part.bytes_sent;
    add_stats (st, &c->part);
  }
  return 0;
}

/* After a failure the session may hold chunks that were never flushed:
 * nothing learnt in it is trusted, and a new one begins. */
static int
restart_session (struct copy *c)
{
  digest_set_free (&c->done);
  digest_set_free (&c->target_done);
  copy_digest_vector_reset (&c->names);
  if (!c->writing)
    return 0;
  store_end (&c->store);
  c->writing = false;
  if (store_begin (&c->store, c->to) == -1)
    return -1;
  c->writing = true;
  return 0;
}

int
copy_backup (struct copy *c, const struct manifest *src, struct copy_stats *st)
{
  struct manifest *m;
  bool reserved = false;
  int r = -1;

  memset (st, 0, sizeof *st);
  if (target_has_backup (c, src->id))
    return 1;
  if (!c->dry_run && !c->writing) {
    set_error (0, "no writer session in %s", c->to->path);
    return -1;
  }
  m = manifest_dup (src);
  if (m == NULL)
    return -1;
  /* The ID is held from the start, as a backup holds its own, so that
   * nobody else publishes it meanwhile. */
  if (!c->dry_run) {
    if (manifest_reserve_exact (c->to, m) == -1)
      goto out;
    reserved = true;
  }
  if (copy_parts (c, m, st) == -1)
    goto out;
  if (c->dry_run) {
    r = 0;
    goto out;
  }
  /* Everything the manifest names is durable before it is published;
   * the commit is the last step, so a killed copy shows nothing. */
  if (copy_flush (c) == -1 || manifest_commit (c->to, m) == -1)
    goto out;
  reserved = false;
  note_copied (c, m->id);
  r = 0;
out:
  if (r == -1) {
    char msg[1024];
    snprintf (msg, sizeof msg, "%s", get_error ());
    if (reserved)
      manifest_unreserve (c->to, m);
    if (restart_session (c) == -1)
      snprintf (msg + strlen (msg), sizeof msg - strlen (msg),
                "; and a new writer session failed: %s", get_error ());
    set_error (0, "%s", msg);
  }
  manifest_free (m);
  return r;
}
