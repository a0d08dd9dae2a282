/* Manifests of an encrypted repository (manifest.h, manifest_seal):
 *
 *   vmbackup-manifest 2
 *   ...the fields of version 1, less what names the host's paths...
 *   sealed <base64 of nonce, the whole version 1 manifest encrypted, tag>
 *   checksum <sha256>
 *
 * The envelope keeps what a reader without the key needs (prune: name
 * and time; gc and verify: the indexes named and their sizes; serve:
 * what it checks at commit).  It drops what says where things live on
 * the host: disk sources, file paths, image identities, checkpoint and
 * run names, the reasons disks were excluded.  The key holder trusts
 * only the sealed copy, and refuses it unless the envelope says the same
 * where they overlap, so a reader without the key is never told
 * something the key holder would not accept. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "crypto/keys.h"
#include "manifest.h"

/* The associated data: the manifest's ID, so that a sealed manifest
 * copied under another ID does not open. */
static char *
seal_aad (const char *id)
{
  char *aad;

  if (asprintf (&aad, "vmbackup-manifest 2 %s", id) == -1) {
    set_error (ENOMEM, "manifest");
    return NULL;
  }
  return aad;
}

static char *
seal_text (const struct repo *repo, const char *id, const char *text)
{
  size_t len = strlen (text), n = len + AEAD_OVERHEAD;
  CLEANUP_FREE unsigned char *bin = malloc (n);
  CLEANUP_FREE char *aad = seal_aad (id);
  char *b64 = malloc (4 * ((n + 2) / 3) + 1);

  if (bin == NULL || aad == NULL || b64 == NULL) {
    free (b64);
    set_error (ENOMEM, "manifest");
    return NULL;
  }
  if (aead_seal (repo->keys->cipher, repo->keys->meta, aad, strlen (aad), text,
                 len, bin)
      == -1) {
    free (b64);
    return NULL;
  }
  EVP_EncodeBlock ((unsigned char *) b64, bin, n);
  return b64;
}

char *
manifest_serialize_sealed (const struct repo *repo, const struct manifest *m)
{
  CLEANUP_FREE char *inner = NULL;
  struct manifest env = *m;
  manifest_disk_vector disks = empty_vector;
  manifest_file_vector files = empty_vector;
  manifest_excluded_vector excluded = empty_vector;
  char *text = NULL;

  if (repo->keys == NULL) {
    set_error (0, "the repository is encrypted: its key is needed");
    return NULL;
  }
  inner = manifest_serialize (m);
  if (inner == NULL)
    return NULL;
  /* The envelope: the same fields, less the host's paths and names. */
  env.checkpoint = env.run = NULL;
  for (size_t i = 0; i < m->disks.len; i++) {
    struct manifest_disk d = m->disks.ptr[i];
    d.source = NULL;
    d.image = NULL;
    if (manifest_disk_vector_append (&disks, d) == -1)
      goto oom;
  }
  for (size_t i = 0; i < m->files.len; i++) {
    struct manifest_file f = m->files.ptr[i];
    f.path = (char *) "-";
    if (manifest_file_vector_append (&files, f) == -1)
      goto oom;
  }
  for (size_t i = 0; i < m->excluded.len; i++) {
    struct manifest_excluded x = m->excluded.ptr[i];
    x.reason = (char *) "-";
    if (manifest_excluded_vector_append (&excluded, x) == -1)
      goto oom;
  }
  env.disks = disks;
  env.files = files;
  env.excluded = excluded;
  env.sealed = seal_text (repo, m->id, inner);
  if (env.sealed)
    text = manifest_serialize (&env);
  free (env.sealed);
  goto out;
oom:
  set_error (ENOMEM, "manifest");
out:
  manifest_disk_vector_reset (&disks);
  manifest_file_vector_reset (&files);
  manifest_excluded_vector_reset (&excluded);
  return text;
}

static int
open_text (const struct repo *repo, const struct manifest *env, char **out)
{
  size_t b64len = strlen (env->sealed), n, pad = 0;
  CLEANUP_FREE unsigned char *bin = malloc (b64len / 4 * 3 + 3);
  CLEANUP_FREE char *aad = seal_aad (env->id);
  char *text;
  int r;

  if (bin == NULL || aad == NULL) {
    set_error (ENOMEM, "manifest");
    return -1;
  }
  r = b64len % 4
    ? -1
    : EVP_DecodeBlock (bin, (const unsigned char *) env->sealed, b64len);
  if (r < 0) {
    set_error (0, "sealed manifest is not base64");
    return -1;
  }
  /* EVP_DecodeBlock counts the padding as zero bytes. */
  while (pad < 2 && b64len > pad && env->sealed[b64len - 1 - pad] == '=')
    pad++;
  n = r - pad;
  if (n < AEAD_OVERHEAD || (text = malloc (n - AEAD_OVERHEAD + 1)) == NULL) {
    set_error (n < AEAD_OVERHEAD ? 0 : ENOMEM, "sealed manifest too short");
    return -1;
  }
  if (aead_open (repo->keys->cipher, repo->keys->meta, aad, strlen (aad), bin,
                 n, (unsigned char *) text)
      == -1) {
    free (text);
    set_error (0,
               "sealed manifest does not open (changed, moved from "
               "another backup ID, or from another repository)");
    return -1;
  }
  text[n - AEAD_OVERHEAD] = '\0';
  *out = text;
  return 0;
}

static bool
same (const char *a, const char *b)
{
  return strcmp (a, b) == 0;
}

/* Field by field: memcmp would compare the struct's padding too, which
 * no parser sets. */
static bool
archive_matches (const struct manifest_archive *a,
                 const struct manifest_archive *b)
{
  return a->present == b->present && !digest_cmp (&a->data_map, &b->data_map)
    && a->data_size == b->data_size && a->data_chunks == b->data_chunks
    && !digest_cmp (&a->catalogue_map, &b->catalogue_map)
    && a->catalogue_size == b->catalogue_size
    && a->catalogue_chunks == b->catalogue_chunks && a->entries == b->entries
    && a->bytes == b->bytes;
}

/* Where envelope and sealed copy overlap, they agree; all but
 * stored-new, a count the server may lower at COMMIT (serve_commit.c:
 * no backup claims more than its session stored) and cannot lower
 * inside the seal. */
static bool
envelope_matches (const struct manifest *env, const struct manifest *m)
{
  if (!same (env->id, m->id) || !same (env->name, m->name)
      || !same (env->kind, m->kind) || !same (env->consistency, m->consistency)
      || env->time != m->time || env->finished != m->finished
      || env->downtime_ms != m->downtime_ms || env->chunk_size != m->chunk_size
      || env->autostart != m->autostart || env->disks.len != m->disks.len
      || env->files.len != m->files.len || env->excluded.len != m->excluded.len
      || !archive_matches (&env->archive, &m->archive))
    return false;
  for (size_t i = 0; i < m->disks.len; i++) {
    const struct manifest_disk *a = &env->disks.ptr[i], *b = &m->disks.ptr[i];
    if (!same (a->name, b->name) || !same (a->format, b->format)
        || a->size != b->size || digest_cmp (&a->index, &b->index)
        || a->incremental != b->incremental || a->bytes_read != b->bytes_read)
      return false;
  }
  for (size_t i = 0; i < m->files.len; i++) {
    const struct manifest_file *a = &env->files.ptr[i], *b = &m->files.ptr[i];
    if (!same (a->role, b->role) || a->size != b->size
        || digest_cmp (&a->index, &b->index))
      return false;
  }
  for (size_t i = 0; i < m->excluded.len; i++)
    if (!same (env->excluded.ptr[i].target, m->excluded.ptr[i].target))
      return false;
  return true;
}

static uint64_t
lower (uint64_t a, uint64_t b)
{
  return a < b ? a : b;
}

/* The lower of the two counts: neither the client's seal nor the
 * server's envelope can make a backup claim more than the other says. */
static void
keep_lower_stored_new (const struct manifest *env, struct manifest *m)
{
  for (size_t i = 0; i < m->disks.len; i++)
    m->disks.ptr[i].stored_new = lower (m->disks.ptr[i].stored_new,
                                        env->disks.ptr[i].stored_new);
  m->archive.stored_new = lower (m->archive.stored_new,
                                 env->archive.stored_new);
}

int
manifest_unseal (const struct repo *repo, struct manifest **pm)
{
  struct manifest *env = *pm, *m;
  CLEANUP_FREE char *text = NULL;

  if ((env->sealed != NULL) != (repo->encryption != 0)) {
    set_error (0,
               env->sealed ? "sealed manifest in a repository in the clear"
                           : "manifest in the clear in an encrypted "
                             "repository");
    return -1;
  }
  if (env->sealed == NULL || repo->keys == NULL)
    return 0;
  if (open_text (repo, env, &text) == -1)
    return -1;
  m = calloc (1, sizeof *m);
  if (m == NULL) {
    set_error (ENOMEM, "manifest");
    return -1;
  }
  if (manifest_parse (text, strlen (text), m) == -1 || m->sealed != NULL) {
    error_prefix ("sealed manifest");
    manifest_free (m);
    return -1;
  }
  if (!envelope_matches (env, m)) {
    set_error (0, "manifest envelope differs from its sealed content");
    manifest_free (m);
    return -1;
  }
  keep_lower_stored_new (env, m);
  manifest_free (env);
  *pm = m;
  return 0;
}
