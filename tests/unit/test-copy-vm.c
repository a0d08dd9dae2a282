/* copy_backup on a VM backup (a disk and the files kept with it: domain
 * XML, NVRAM), which the shell tests cannot make without libvirt: from
 * an encrypted repository into one under another key, into one in the
 * clear, and from that into a third; each copy keeps the ID, the files
 * restore to the same bytes, the disk's index names the target's chunks
 * and the target's backup_check (what serve runs at COMMIT) passes.  A
 * second copy is skipped; a dry run writes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/aead.h"
#include "crypto/keyslot.h"
#include "repo/backup_check.h"
#include "repo/backup_file.h"
#include "repo/copy.h"
#include "repo/index.h"
#include "repo/manifest.h"
#include "repo/restore_file.h"
#include "repo/store.h"
#include "test.h"

#define CHUNK (64 * 1024)

static const char xml[] = "<domain type='kvm'><name>web1</name></domain>";
static unsigned char nvram[3 * CHUNK + 100];
static unsigned char disk[2 * CHUNK];

static struct repo *
make (const char *name, bool encrypted, unsigned char key_seed)
{
  static unsigned char keys[4][MASTER_KEY_LEN];
  char path[600];
  struct key_secret sec = { KEY_SLOT_KEY_FILE, keys[key_seed],
                            MASTER_KEY_LEN };
  struct repo *r;

  memset (keys[key_seed], key_seed + 1, MASTER_KEY_LEN);
  snprintf (path, sizeof path, "%s/%s", test_tmpdir (), name);
  CHECK (repo_init (path, CHUNK, encrypted ? AEAD_AES_256_GCM : 0,
                    encrypted ? &sec : NULL, NULL)
           == 0,
         "init %s: %s", name, get_error ());
  r = repo_open (path);
  CHECK (r != NULL, "open %s: %s", name, get_error ());
  if (encrypted)
    CHECK (repo_unlock (r, &sec) == 0, "unlock %s: %s", name, get_error ());
  return r;
}

/* A VM backup of the disk and two files. */
static struct manifest *
vm_backup (struct repo *r)
{
  struct manifest *m = calloc (1, sizeof *m);
  struct manifest_file f = { .role = strdup ("domain-xml"),
                             .path = strdup ("domain.xml"),
                             .size = sizeof xml - 1 };
  struct manifest_file nv = { .role = strdup ("nvram"),
                              .path = strdup ("/var/lib/nvram/web1_VARS.fd"),
                              .size = sizeof nvram };
  struct manifest_disk d = { .name = strdup ("vda"),
                             .format = strdup ("raw"),
                             .source = strdup ("/dev/vg/web1"),
                             .size = sizeof disk };
  struct store st;

  CHECK (m != NULL, "calloc");
  m->name = strdup ("web1");
  m->kind = strdup ("vm");
  m->consistency = strdup ("offline");
  m->time = 1796408270;
  m->finished = m->time + 5;
  m->chunk_size = CHUNK;
  CHECK (store_begin (&st, r) == 0, "store: %s", get_error ());
  CHECK (backup_buffer (&st, 3, xml, sizeof xml - 1, &f.index) == 0, "xml: %s",
         get_error ());
  CHECK (backup_buffer (&st, 3, nvram, sizeof nvram, &nv.index) == 0,
         "nvram: %s", get_error ());
  /* The disk stored as a file is stored as a disk is: an index of
   * chunk-size slots. */
  CHECK (backup_buffer (&st, 1, disk, sizeof disk, &d.index) == 0, "disk: %s",
         get_error ());
  CHECK (manifest_file_vector_append (&m->files, f) == 0
           && manifest_file_vector_append (&m->files, nv) == 0
           && manifest_disk_vector_append (&m->disks, d) == 0,
         "append");
  CHECK (manifest_reserve (r, m) == 0 && manifest_commit (r, m) == 0,
         "commit: %s", get_error ());
  store_end (&st);
  return m;
}

/* What the target holds under m's ID is m's backup, whole. */
static void
check_copy (struct repo *to, const struct manifest *m)
{
  struct manifest *c = manifest_resolve (to, m->id);
  char *buf;
  size_t len;

  CHECK (c != NULL, "%s not in %s: %s", m->id, to->path, get_error ());
  CHECK (strcmp (c->kind, "vm") == 0 && c->files.len == 2 && c->disks.len == 1
           && c->time == m->time && c->finished == m->finished,
         "copied manifest differs");
  CHECK (strcmp (c->files.ptr[1].path, "/var/lib/nvram/web1_VARS.fd") == 0
           && strcmp (c->disks.ptr[0].source, "/dev/vg/web1") == 0,
         "paths lost in the copy");
  CHECK (restore_file_buffer (to, &c->files.ptr[0], 4096, &buf, &len) == 0
           && len == sizeof xml - 1 && memcmp (buf, xml, len) == 0,
         "domain XML from %s: %s", to->path, get_error ());
  free (buf);
  CHECK (restore_file_buffer (to, &c->files.ptr[1], sizeof nvram + 1, &buf,
                              &len)
             == 0
           && len == sizeof nvram && memcmp (buf, nvram, len) == 0,
         "NVRAM from %s: %s", to->path, get_error ());
  free (buf);
  CHECK (backup_check (to, c, NULL) == 0, "backup_check in %s: %s", to->path,
         get_error ());
  manifest_free (c);
}

static void
copy_one (struct repo *from, struct repo *to, const struct manifest *m,
          uint64_t want_sent)
{
  struct copy c;
  struct copy_stats st;
  manifest_vector v = empty_vector;

  /* A dry run counts and writes nothing. */
  CHECK (copy_open (&c, from, to, true) == 0, "open: %s", get_error ());
  CHECK (copy_backup (&c, m, &st) == 0 && st.chunks_sent == want_sent,
         "dry run: %s (%llu chunks)", get_error (),
         (unsigned long long) st.chunks_sent);
  copy_close (&c);
  CHECK (manifest_list (to, NULL, &v, NULL, NULL) == 0 && v.len == 0,
         "dry run wrote a backup");

  CHECK (copy_open (&c, from, to, false) == 0, "open: %s", get_error ());
  CHECK (copy_backup (&c, m, &st) == 0, "copy: %s", get_error ());
  CHECK (st.chunks_sent == want_sent, "%llu chunks sent, not %llu",
         (unsigned long long) st.chunks_sent, (unsigned long long) want_sent);
  CHECK (copy_backup (&c, m, &st) == 1, "copied twice");
  copy_close (&c);
  check_copy (to, m);
}

int
main (void)
{
  struct repo *a, *b, *clear, *c;
  struct manifest *m, *mc;

  test_fill_random (nvram, sizeof nvram);
  test_fill_random (disk, CHUNK);
  a = make ("a", true, 0);
  b = make ("b", true, 1);
  clear = make ("clear", false, 0);
  c = make ("c", true, 2);
  m = vm_backup (a);

  /* xml 1, nvram 4, disk 1 (its second chunk is zero). */
  copy_one (a, b, m, 6);
  copy_one (a, clear, m, 6);
  mc = manifest_resolve (clear, m->id);
  CHECK (mc != NULL, "resolve in clear: %s", get_error ());
  copy_one (clear, c, mc, 6);

  {
    struct copy cp;
    CHECK (copy_open (&cp, a, a, false) == -1
             && strstr (get_error (), "same repository"),
           "copy into itself: %s", get_error ());
  }
  manifest_free (mc);
  manifest_free (m);
  repo_close (a);
  repo_close (b);
  repo_close (clear);
  repo_close (c);
  return 0;
}
