/* The repository's config object (docs/repository-format.pod, "config"):
 * format version, repository ID, chunk size, for an encrypted
 * repository (version 2) its cipher, and a checksum of them, so
 * that a config changed by hand (a chunk size that every new backup
 * would silently use) is refused rather than trusted.  Shared by the
 * backends that store it themselves. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"
#include "backend.h"

#define CHECKSUM_KEY "checksum "

bool
backend_chunk_size_valid (uint32_t chunk)
{
  return chunk >= BACKEND_MIN_CHUNK && chunk <= BACKEND_MAX_CHUNK
    && (chunk & (chunk - 1)) == 0;
}

static const char *const encryption_names[] = {
  [BACKEND_ENCRYPTION_AES_256_GCM] = "aes-256-gcm",
  [BACKEND_ENCRYPTION_CHACHA20_POLY1305] = "chacha20-poly1305",
};
#define N_ENCRYPTION (sizeof encryption_names / sizeof encryption_names[0])

const char *
backend_encryption_name (uint32_t encryption)
{
  return encryption > 0 && encryption < N_ENCRYPTION
    ? encryption_names[encryption]
    : NULL;
}

char *
backend_config_new (uint32_t chunk_size, uint32_t encryption)
{
  unsigned char rnd[16];
  char id[33], *text, hex[DIGEST_HEX_LEN + 1];
  CLEANUP_FREE char *body = NULL;
  struct digest sum;
  int n;

  if (getrandom (rnd, sizeof rnd, 0) != sizeof rnd) {
    set_error (errno, "getrandom");
    return NULL;
  }
  for (int i = 0; i < 16; i++)
    sprintf (id + 2 * i, "%02x", rnd[i]);
  /* A repository in the clear stays version 1, which every vmbackup
   * reads; an encrypted one is version 2, which an older vmbackup (one
   * that would ignore an "encryption" line) refuses rather than write
   * plaintext into. */
  if (encryption == 0)
    n = asprintf (&body, "vmbackup-repository %d\nid %s\nchunk-size %u\n",
                  BACKEND_FORMAT_VERSION, id, chunk_size);
  else if (backend_encryption_name (encryption) == NULL) {
    set_error (0, "unknown encryption %u", encryption);
    return NULL;
  }
  else
    n = asprintf (&body,
                  "vmbackup-repository %d\nid %s\nchunk-size %u\n"
                  "encryption %s\n",
                  BACKEND_FORMAT_VERSION_ENCRYPTED, id, chunk_size,
                  backend_encryption_name (encryption));
  if (n == -1) {
    set_error (ENOMEM, "config");
    return NULL;
  }
  if (digest_compute (body, strlen (body), &sum) == -1)
    return NULL;
  digest_to_hex (&sum, hex);
  if (asprintf (&text, "%s" CHECKSUM_KEY "%s\n", body, hex) == -1) {
    set_error (ENOMEM, "config");
    return NULL;
  }
  return text;
}

/* The checksum line, if there is one, must be the last and match the
 * SHA-256 of every byte before it.  A config without one was written
 * before there were checksums, and is read as it always was. */
static int
check_sum (struct backend *be, const char *text, bool required)
{
  const char *line = strstr (text, "\n" CHECKSUM_KEY);
  char want[DIGEST_HEX_LEN + 1];
  struct digest sum;

  if (line == NULL && required) {
    set_error (0, "%s/config: no checksum line", be->location);
    return -1;
  }
  if (line == NULL)
    return 0;
  line++;
  if (strlen (line) != strlen (CHECKSUM_KEY) + DIGEST_HEX_LEN + 1
      || line[strlen (line) - 1] != '\n') {
    set_error (0, "%s/config: malformed checksum line", be->location);
    return -1;
  }
  if (digest_compute (text, line - text, &sum) == -1)
    return -1;
  digest_to_hex (&sum, want);
  if (memcmp (line + strlen (CHECKSUM_KEY), want, DIGEST_HEX_LEN) != 0) {
    set_error (0,
               "%s/config: checksum mismatch (the file was changed; its "
               "chunk size and ID are not trusted)",
               be->location);
    return -1;
  }
  return 0;
}

/* Version 2's fourth line: "encryption NAME". */
static int
parse_encryption (struct backend *be, const char *text)
{
  const char *line = text;

  for (int i = 0; i < 3 && line; i++) {
    line = strchr (line, '\n');
    if (line)
      line++;
  }
  if (line && strncmp (line, "encryption ", 11) == 0) {
    const char *name = line + 11;
    size_t len = strcspn (name, "\n");
    for (uint32_t e = 1; e < N_ENCRYPTION; e++)
      if (strlen (encryption_names[e]) == len
          && strncmp (name, encryption_names[e], len) == 0
          && name[len] == '\n') {
        be->encryption = e;
        return 0;
      }
    set_error (0, "%s/config: unknown encryption '%.*s'", be->location,
               (int) (len > 64 ? 64 : len), name);
    return -1;
  }
  set_error (0, "%s/config: version 2 without an encryption line",
             be->location);
  return -1;
}

int
backend_config_parse (struct backend *be, const char *text)
{
  int version;
  unsigned long chunk;
  char id[64];

  if (sscanf (text, "vmbackup-repository %d\nid %63s\nchunk-size %lu\n",
              &version, id, &chunk)
      != 3) {
    set_error (0, "%s/config: not a vmbackup repository configuration",
               be->location);
    return -1;
  }
  /* Version 2 was born with checksums: one without is not ours. */
  if (check_sum (be, text, version == BACKEND_FORMAT_VERSION_ENCRYPTED) == -1)
    return -1;
  if (version != BACKEND_FORMAT_VERSION
      && version != BACKEND_FORMAT_VERSION_ENCRYPTED) {
    set_error (0,
               "%s: repository format %d is not supported (this vmbackup "
               "reads formats %d and %d)",
               be->location, version, BACKEND_FORMAT_VERSION,
               BACKEND_FORMAT_VERSION_ENCRYPTED);
    return -1;
  }
  be->encryption = BACKEND_ENCRYPTION_NONE;
  if (version == BACKEND_FORMAT_VERSION_ENCRYPTED
      && parse_encryption (be, text) == -1)
    return -1;
  if (strlen (id) != 32 || chunk > BACKEND_MAX_CHUNK
      || !backend_chunk_size_valid (chunk)) {
    set_error (0, "%s/config: invalid id or chunk size", be->location);
    return -1;
  }
  memcpy (be->id, id, 33);
  be->chunk_size = chunk;
  return 0;
}
