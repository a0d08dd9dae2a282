/* Manifests of an encrypted repository: the stored text shows no host
 * path, the key holder gets back exactly what was sealed, a reader
 * without the key gets the envelope (IDs, times, sizes, indexes), and
 * every attack on a manifest is named: a sealed manifest replayed under
 * another backup ID, an envelope edited to say something else (checksum
 * recomputed, as anyone can), a manifest from another repository, a
 * manifest in the clear planted in an encrypted repository, and the
 * reverse. */
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/error.h"
#include "crypto/keys.h"
#include "repo/manifest.h"
#include "test.h"

static struct crypt_keys keys, other_keys;

static struct manifest *
parse (const char *text)
{
  struct manifest *m = calloc (1, sizeof *m);

  CHECK (m && manifest_parse (text, strlen (text), m) == 0, "parse: %s\n%s",
         get_error (), text);
  return m;
}

/* Replace the first line starting with key, and seal the text again
 * with a correct checksum (what anyone can do). */
static char *
edit (const char *text, const char *key, const char *line)
{
  const char *at = strstr (text, key), *nl = strchr (at, '\n');
  char *sum, *out;
  struct digest d;
  char hex[DIGEST_HEX_LEN + 1];

  CHECK (asprintf (&out, "%.*s%s%s", (int) (at - text), text, line, nl) > 0,
         "asprintf");
  sum = strstr (out, "checksum ");
  digest_compute (out, sum - out, &d);
  digest_to_hex (&d, hex);
  memcpy (sum + 9, hex, DIGEST_HEX_LEN);
  return out;
}

static void
refused (const struct repo *repo, const char *text, const char *cause,
         const char *what)
{
  struct manifest *m = parse (text);

  CHECK (manifest_unseal (repo, &m) == -1, "%s: accepted", what);
  CHECK (strstr (get_error (), cause), "%s: '%s' lacks '%s'", what,
         get_error (), cause);
  manifest_free (m);
}

int
main (void)
{
  unsigned char master[MASTER_KEY_LEN] = { 1 },
                master2[MASTER_KEY_LEN] = { 2 };
  struct repo repo = { .chunk_size = 4 << 20, .encryption = 1, .keys = &keys };
  struct repo keyless = repo, other = repo, clear = repo;
  struct manifest m = { 0 }, *back;
  struct manifest_disk d = { .name = "vda",
                             .format = "qcow2",
                             .source = "/srv/secret-project/web1.qcow2",
                             .size = 1 << 30,
                             .stored_new = 12345 };
  struct manifest_file f = { .role = "nvram",
                             .path = "/var/lib/libvirt/qemu/nvram/web1.fd",
                             .size = 540672 };
  char *plain, *sealed, *text;

  keyless.keys = NULL;
  other.keys = &other_keys;
  clear.encryption = 0;
  clear.keys = NULL;
  CHECK (crypt_keys_derive (master, AEAD_AES_256_GCM, &keys) == 0, "keys");
  CHECK (crypt_keys_derive (master2, AEAD_AES_256_GCM, &other_keys) == 0,
         "keys");
  m.id = "web1/20261125T030000Z";
  m.name = "web1";
  m.kind = "vm";
  m.consistency = "application";
  m.time = 1795000000;
  m.finished = 1795000100;
  m.chunk_size = 4 << 20;
  m.checkpoint = "vmbackup-20261125T030000Z";
  test_fill_random (d.index.b, DIGEST_LEN);
  test_fill_random (f.index.b, DIGEST_LEN);
  CHECK (manifest_disk_vector_append (&m.disks, d) == 0, "append");
  CHECK (manifest_file_vector_append (&m.files, f) == 0, "append");
  plain = manifest_serialize (&m);
  sealed = manifest_serialize_sealed (&repo, &m);
  CHECK (sealed, "seal: %s", get_error ());
  CHECK (strncmp (sealed, "vmbackup-manifest 2\n", 20) == 0, "%s", sealed);
  CHECK (!strstr (sealed, "secret-project") && !strstr (sealed, "nvram/web1")
           && !strstr (sealed, "vmbackup-2026"),
         "host paths in the stored text:\n%s", sealed);

  /* The key holder gets exactly what was sealed. */
  back = parse (sealed);
  CHECK (manifest_unseal (&repo, &back) == 0, "unseal: %s", get_error ());
  text = manifest_serialize (back);
  CHECK (strcmp (text, plain) == 0, "unsealed differs:\n%s\n%s", text, plain);
  free (text);
  manifest_free (back);

  /* Without the key: the envelope, with what prune and gc need. */
  back = parse (sealed);
  CHECK (manifest_unseal (&keyless, &back) == 0, "%s", get_error ());
  CHECK (back->sealed && back->time == m.time && back->disks.len == 1
           && back->disks.ptr[0].size == d.size
           && !digest_cmp (&back->disks.ptr[0].index, &d.index)
           && !digest_cmp (&back->files.ptr[0].index, &f.index),
         "envelope");
  manifest_free (back);

  /* Replayed under another ID, envelope edited, other repository. */
  text = edit (sealed, "id ", "id web1/20261126T030000Z");
  refused (&repo, text, "does not open", "replayed under another ID");
  free (text);
  text = edit (sealed, "time ", "time 1795000001");
  refused (&repo, text, "envelope differs", "envelope time edited");
  free (text);
  text = edit (sealed, "disk ",
               "disk name=vda format=qcow2 size=1 index="
               "00000000000000000000000000000000"
               "00000000000000000000000000000000"
               " stored-new=0 read=full bytes-read=0 source=");
  refused (&repo, text, "envelope differs", "envelope disk edited");
  free (text);
  refused (&other, sealed, "does not open", "another repository's key");

  /* Clear and sealed do not mix. */
  refused (&repo, plain, "in the clear in an encrypted", "clear planted");
  refused (&keyless, plain, "in the clear in an encrypted",
           "clear planted (keyless)");
  refused (&clear, sealed, "sealed manifest in a repository in the clear",
           "sealed in the clear");

  free (plain);
  free (sealed);
  manifest_disk_vector_reset (&m.disks);
  manifest_file_vector_reset (&m.files);
  return 0;
}
