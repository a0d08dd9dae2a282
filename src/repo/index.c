/* Index files (see index.h). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "index.h"

#define HASH_BLOCK (1 << 20)

void
index_header_encode (const struct index_header *h, unsigned char *out)
{
  memset (out, 0, INDEX_HEADER_LEN);
  memcpy (out, INDEX_MAGIC, 8);
  put_le32 (out + 8, 1);
  put_le32 (out + 12, h->chunk_size);
  put_le64 (out + 16, h->disk_size);
  put_le64 (out + 24, h->chunk_count);
}

int
index_header_parse (const unsigned char *buf, uint64_t filelen,
                    struct index_header *h)
{
  uint64_t want, body;

  if (filelen < INDEX_HEADER_LEN + DIGEST_LEN) {
    set_error (0, "truncated (%llu bytes)", (unsigned long long) filelen);
    return -1;
  }
  if (memcmp (buf, INDEX_MAGIC, 8) != 0 || get_le32 (buf + 8) != 1) {
    set_error (0, "not a version 1 index");
    return -1;
  }
  h->chunk_size = get_le32 (buf + 12);
  h->disk_size = get_le64 (buf + 16);
  h->chunk_count = get_le64 (buf + 24);
  if (h->disk_size > FORMAT_MAX_DISK_SIZE) {
    set_error (0,
               "index describes %llu bytes, more than the 1 PiB an index "
               "may",
               (unsigned long long) h->disk_size);
    return -1;
  }
  if (h->chunk_size < REPO_MIN_CHUNK || h->chunk_size > REPO_MAX_CHUNK
      || (h->chunk_size & (h->chunk_size - 1))) {
    set_error (0, "index has invalid chunk size %u", h->chunk_size);
    return -1;
  }
  want = h->disk_size / h->chunk_size + (h->disk_size % h->chunk_size != 0);
  if (h->chunk_count != want) {
    set_error (0, "index chunk count %llu does not fit disk size %llu",
               (unsigned long long) h->chunk_count,
               (unsigned long long) h->disk_size);
    return -1;
  }
  if (__builtin_mul_overflow (h->chunk_count, DIGEST_LEN, &body)
      || __builtin_add_overflow (body, INDEX_HEADER_LEN + DIGEST_LEN, &body)
      || body != filelen) {
    set_error (0, "truncated or oversized (%llu bytes)",
               (unsigned long long) filelen);
    return -1;
  }
  return 0;
}

int
index_writer_open (struct index_writer *w, struct repo *repo,
                   uint64_t disk_size)
{
  CLEANUP_FREE char *dir = repo_tmpdir (repo);
  unsigned char hdr[INDEX_HEADER_LEN];

  w->repo = repo;
  w->tmppath = NULL;
  w->fd = -1;
  if (disk_size > FORMAT_MAX_DISK_SIZE) {
    set_error (0, "%llu bytes: larger than the 1 PiB vmbackup backs up",
               (unsigned long long) disk_size);
    return -1;
  }
  w->hdr.chunk_size = repo->chunk_size;
  w->hdr.disk_size = disk_size;
  w->hdr.chunk_count = disk_size / repo->chunk_size
    + (disk_size % repo->chunk_size != 0);
  w->fd = dir ? tmpfile_create (dir, &w->tmppath) : -1;
  if (w->fd == -1)
    return -1;
  index_header_encode (&w->hdr, hdr);
  /* Size the file up front: unwritten slots read back as zero digests,
   * which is exactly what a hole chunk is. */
  if (write_full (w->fd, hdr, sizeof hdr, 0) == -1
      || ftruncate (w->fd, INDEX_HEADER_LEN + w->hdr.chunk_count * DIGEST_LEN)
        == -1) {
    set_error (errno, "write index");
    index_writer_abort (w);
    return -1;
  }
  return 0;
}

/* Write (or read) the digest of slot i of an index with count slots:
 * the one place that knows where a slot is. */
static int
slot_io (int fd, uint64_t count, uint64_t i, struct digest *d, bool write)
{
  off_t off = INDEX_HEADER_LEN + i * DIGEST_LEN;

  if (i >= count) {
    set_error (EINVAL, "index slot %llu", (unsigned long long) i);
    return -1;
  }
  if ((write ? write_full (fd, d->b, DIGEST_LEN, off)
             : read_full (fd, d->b, DIGEST_LEN, off))
      == -1) {
    set_error (errno, write ? "write index" : "read index");
    return -1;
  }
  return 0;
}

int
index_writer_set (struct index_writer *w, uint64_t i, const struct digest *d)
{
  return slot_io (w->fd, w->hdr.chunk_count, i, (struct digest *) d, true);
}

/* SHA-256 of the first len bytes of fd, read in blocks. */
static int
hash_fd (int fd, uint64_t len, struct digest *out)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  CLEANUP_FREE unsigned char *buf = malloc (HASH_BLOCK);
  uint64_t off = 0;
  int r = -1;

  if (md == NULL || buf == NULL
      || !EVP_DigestInit_ex (md, EVP_sha256 (), NULL)) {
    set_error (ENOMEM, "hash index");
    goto out;
  }
  while (off < len) {
    size_t n = len - off < HASH_BLOCK ? len - off : HASH_BLOCK;
    if (read_full (fd, buf, n, off) == -1) {
      set_error (errno, "read index");
      goto out;
    }
    EVP_DigestUpdate (md, buf, n);
    off += n;
  }
  EVP_DigestFinal_ex (md, out->b, NULL);
  r = 0;
out:
  EVP_MD_CTX_free (md);
  return r;
}

int
index_writer_commit (struct index_writer *w, struct digest *id)
{
  uint64_t body = INDEX_HEADER_LEN + w->hdr.chunk_count * DIGEST_LEN;
  int r;

  if (hash_fd (w->fd, body, id) == -1) {
    index_writer_abort (w);
    return -1;
  }
  if (write_full (w->fd, id->b, DIGEST_LEN, body) == -1) {
    set_error (errno, "write index");
    index_writer_abort (w);
    return -1;
  }
  /* Sealed here; the backend stores it as it is (a server checks it
   * again).  It owns the file from now on. */
  r = w->repo->be->ops->index_put (w->repo->be, id, w->fd, w->tmppath,
                                   body + DIGEST_LEN);
  w->fd = -1;
  free (w->tmppath);
  w->tmppath = NULL;
  return r;
}

int
index_publish (struct repo *repo, int fd, const char *tmppath,
               const struct digest *id)
{
  char hex[DIGEST_HEX_LEN + 1];
  unsigned char hdr[INDEX_HEADER_LEN];
  struct index_header h;
  struct digest trailer, computed;
  struct stat st;

  digest_to_hex (id, hex);
  if (fstat (fd, &st) == -1) {
    set_error (errno, "index %.16s", hex);
    goto fail;
  }
  if (st.st_size < INDEX_HEADER_LEN + DIGEST_LEN) {
    set_error (0, "index %.16s: truncated (%lld bytes)", hex,
               (long long) st.st_size);
    goto fail;
  }
  if (read_full (fd, hdr, sizeof hdr, 0) == -1
      || read_full (fd, trailer.b, DIGEST_LEN, st.st_size - DIGEST_LEN)
        == -1) {
    set_error (errno, "index %.16s: read", hex);
    goto fail;
  }
  if (index_header_parse (hdr, st.st_size, &h) == -1
      || hash_fd (fd, st.st_size - DIGEST_LEN, &computed) == -1) {
    error_prefix ("index %.16s", hex);
    goto fail;
  }
  if (digest_cmp (&computed, &trailer) || digest_cmp (&computed, id)) {
    set_error (0, "index %.16s: content does not match its digest", hex);
    goto fail;
  }
  if (h.chunk_size != repo->chunk_size) {
    set_error (0, "index %.16s: chunk size %u differs from repository's %u",
               hex, h.chunk_size, repo->chunk_size);
    goto fail;
  }
  return repo->be->ops->index_put (repo->be, id, fd, tmppath, st.st_size);

fail:
  close (fd);
  unlink (tmppath);
  return -1;
}

uint64_t
index_max_len (uint32_t chunk_size)
{
  uint64_t slots = FORMAT_MAX_DISK_SIZE / chunk_size
    + (FORMAT_MAX_DISK_SIZE % chunk_size != 0);

  return INDEX_HEADER_LEN + slots * DIGEST_LEN + DIGEST_LEN;
}

void
index_writer_abort (struct index_writer *w)
{
  tmpfile_discard (&w->fd, &w->tmppath);
}

int
index_reader_open (struct index_reader *r, struct repo *repo,
                   const struct digest *id)
{
  char hex[DIGEST_HEX_LEN + 1];
  unsigned char hdr[INDEX_HEADER_LEN];
  struct digest trailer, computed;
  struct stat st;

  digest_to_hex (id, hex);
  /* A backend across a network fetches it whole into a local file:
   * then it is read and checked exactly as a local index is. */
  r->fd = repo->be->ops->index_open (repo->be, id);
  if (r->fd == -1)
    return -1;
  if (fstat (r->fd, &st) == -1) {
    set_error (errno, "index %.16s", hex);
    goto fail;
  }
  if (st.st_size < INDEX_HEADER_LEN + DIGEST_LEN) {
    set_error (0, "index %.16s: truncated (%lld bytes)", hex,
               (long long) st.st_size);
    goto fail;
  }
  if (read_full (r->fd, hdr, sizeof hdr, 0) == -1) {
    set_error (errno, "index %.16s: read", hex);
    goto fail;
  }
  if (index_header_parse (hdr, st.st_size, &r->hdr) == -1
      || read_full (r->fd, trailer.b, DIGEST_LEN, st.st_size - DIGEST_LEN)
        == -1
      || hash_fd (r->fd, st.st_size - DIGEST_LEN, &computed) == -1) {
    error_prefix ("index %.16s", hex);
    goto fail;
  }
  if (digest_cmp (&computed, &trailer) || digest_cmp (&computed, id)) {
    set_error (0, "index %.16s: content does not match its digest", hex);
    goto fail;
  }
  if (r->hdr.chunk_size != repo->chunk_size) {
    set_error (0, "index %.16s: chunk size %u differs from repository's %u",
               hex, r->hdr.chunk_size, repo->chunk_size);
    goto fail;
  }
  return 0;

fail:
  close (r->fd);
  r->fd = -1;
  return -1;
}

int
index_reader_get (struct index_reader *r, uint64_t i, struct digest *d)
{
  return slot_io (r->fd, r->hdr.chunk_count, i, d, false);
}

void
index_reader_close (struct index_reader *r)
{
  if (r->fd >= 0)
    close (r->fd);
  r->fd = -1;
}

int
index_check_buffer (const unsigned char *buf, uint64_t len,
                    struct index_header *h)
{
  struct digest computed;

  if (index_header_parse (buf, len, h) == -1)
    return -1;
  if (digest_compute (buf, len - DIGEST_LEN, &computed) == -1)
    return -1;
  if (memcmp (computed.b, buf + len - DIGEST_LEN, DIGEST_LEN) != 0) {
    set_error (0, "index content does not match its trailer digest");
    return -1;
  }
  return 0;
}
