/* The keyring of an encrypted repository (repo/keyring.h) on a real
 * directory: init stores the first slot and config version 2; the right
 * key file opens it and sets the working keys, a wrong one or a
 * passphrase with no passphrase slot does not; at most 32 slots (a 33rd
 * is refused, and a repository holding more is refused before any slot
 * is read); the last slot is never removed; a slot copied under another
 * name is refused; the exported master key round-trips, its check line
 * catches a typo, and it opens no other repository; a config turned
 * back to version 1 beside key slots is refused. */
#include <fcntl.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "crypto/keys.h"
#include "repo/keyring.h"
#include "repo/repo.h"
#include "test.h"

static const char *
path_in (const char *dir, const char *rel)
{
  static char buf[1024];

  snprintf (buf, sizeof buf, "%s/%s", dir, rel);
  return buf;
}

int
main (void)
{
  unsigned char kf[MASTER_KEY_LEN], other[MASTER_KEY_LEN];
  unsigned char master[MASTER_KEY_LEN], master2[MASTER_KEY_LEN];
  struct key_secret secret = { KEY_SLOT_KEY_FILE, kf, sizeof kf };
  struct key_secret wrong = { KEY_SLOT_KEY_FILE, other, sizeof other };
  struct key_secret pass = { KEY_SLOT_PASSPHRASE, "pw", 2 };
  struct key_slot slots[KEYRING_MAX_SLOTS], added;
  char dir[512], dir2[512], opened[KEY_SLOT_ID_LEN + 1];
  struct strbuf exp = STRBUF_INIT;
  struct repo *repo, *repo2;
  size_t n;
  char *text;
  size_t len;

  RAND_bytes (kf, sizeof kf);
  RAND_bytes (other, sizeof other);
  snprintf (dir, sizeof dir, "%s/a", test_tmpdir ());
  snprintf (dir2, sizeof dir2, "%s/b", test_tmpdir ());
  CHECK (repo_init (dir, 1 << 20, AEAD_AES_256_GCM, &secret, "first") == 0,
         "init: %s", get_error ());
  CHECK (repo_init (dir2, 1 << 20, AEAD_CHACHA20_POLY1305, &secret, NULL) == 0,
         "init: %s", get_error ());
  repo = repo_open (dir);
  CHECK (repo && repo->encryption == AEAD_AES_256_GCM && repo->keys == NULL,
         "open: %s", repo ? "fields" : get_error ());
  CHECK (read_file (path_in (dir, "config"), 4096, &text, &len) == 0
           && strncmp (text, "vmbackup-repository 2\n", 22) == 0
           && strstr (text, "\nencryption aes-256-gcm\n"),
         "config: %s", text);
  free (text);

  /* Opening */
  CHECK (keyring_open (repo, &secret, master, opened) == 0, "open: %s",
         get_error ());
  CHECK (keyring_load (repo, slots, &n) == 0 && n == 1
           && strcmp (slots[0].id, opened) == 0
           && strcmp (slots[0].label, "first") == 0,
         "load: %s", get_error ());
  CHECK (keyring_open (repo, &wrong, master2, NULL) == -1
           && strstr (get_error (), "wrong key file: no key slot of"),
         "wrong key: %s", get_error ());
  CHECK (keyring_open (repo, &pass, master2, NULL) == -1
           && strstr (get_error (), "(it has no passphrase slot)"),
         "passphrase: %s", get_error ());
  CHECK (repo_unlock (repo, &secret) == 0 && repo->keys
           && repo->keys->cipher == AEAD_AES_256_GCM,
         "unlock: %s", get_error ());

  /* The last slot stays; up to 32; no more */
  CHECK (keyring_remove (repo, opened) == -1
           && strstr (get_error (), "is the last"),
         "removed the last slot: %s", get_error ());
  for (int i = 1; i < KEYRING_MAX_SLOTS; i++)
    CHECK (keyring_add (repo, master, &wrong, NULL, &added) == 0, "add %d: %s",
           i, get_error ());
  CHECK (keyring_add (repo, master, &wrong, NULL, NULL) == -1
           && strstr (get_error (), "the most"),
         "a 33rd slot: %s", get_error ());
  CHECK (keyring_open (repo, &wrong, master2, NULL) == 0
           && memcmp (master, master2, sizeof master) == 0,
         "an added slot: %s", get_error ());
  CHECK (keyring_remove (repo, added.id) == 0, "remove: %s", get_error ());
  CHECK (keyring_load (repo, slots, &n) == 0 && n == KEYRING_MAX_SLOTS - 1,
         "after remove: %zu", n);
  {
    int fd = open (path_in (dir, "keys/00000000000000aa"), O_WRONLY | O_CREAT,
                   0600);
    CHECK (fd >= 0 && write (fd, "x", 1) == 1, "plant");
    close (fd);
    fd = open (path_in (dir, "keys/00000000000000bb"), O_WRONLY | O_CREAT,
               0600);
    close (fd);
  }
  CHECK (keyring_load (repo, slots, &n) == -1
           && strstr (get_error (), "more than 32 key slots"),
         "33 slots: %s", get_error ());
  unlink (path_in (dir, "keys/00000000000000bb"));
  /* The planted one is read and refused, naming it; the other slots
   * still open. */
  CHECK (keyring_load (repo, slots, &n) == -1
           && strstr (get_error (), "00000000000000aa"),
         "garbage slot: %s", get_error ());
  CHECK (keyring_open (repo, &secret, master2, NULL) == 0,
         "a damaged slot locks out the others: %s", get_error ());
  CHECK (keyring_open (repo, &pass, master2, NULL) == -1
           && strstr (get_error (),
                      "(it has no passphrase slot); key slot "
                      "00000000000000aa"),
         "damaged slot not named: %s", get_error ());
  /* A real slot copied under another name. */
  {
    char src[1024];
    snprintf (src, sizeof src, "%s", path_in (dir, "keys/"));
    strcat (src, opened);
    CHECK (read_file (src, 4096, &text, &len) == 0, "read slot");
    CHECK (write_file_atomic (path_in (dir, "keys/00000000000000aa"), text,
                              len)
             == 0,
           "copy slot");
    free (text);
  }
  CHECK (keyring_load (repo, slots, &n) == -1
           && strstr (get_error (), "names slot"),
         "slot under another name: %s", get_error ());
  unlink (path_in (dir, "keys/00000000000000aa"));

  /* Export and import */
  keyring_export (repo, master, &exp);
  CHECK (keyring_is_export (exp.buf, exp.len), "export: %s", exp.buf);
  CHECK (keyring_import (repo, exp.buf, exp.len, master2) == 0
           && memcmp (master, master2, sizeof master) == 0,
         "import: %s", get_error ());
  repo2 = repo_open (dir2);
  CHECK (repo2, "open b: %s", get_error ());
  CHECK (keyring_import (repo2, exp.buf, exp.len, master2) == -1
           && strstr (get_error (), "not"),
         "another repository's export: %s", get_error ());
  {
    char *k = strstr (exp.buf, "\nkey ") + 5;
    *k = *k == '0' ? '1' : '0';
    CHECK (keyring_import (repo, exp.buf, exp.len, master2) == -1
             && strstr (get_error (), "does not match"),
           "typo: %s", get_error ());
  }
  repo_close (repo2);
  repo_close (repo);

  /* Version 2 turned back to 1 beside key slots */
  {
    const char *body = "vmbackup-repository 1\nid "
                       "00112233445566778899aabbccddeeff\nchunk-size "
                       "1048576\n";
    CHECK (write_file_atomic (path_in (dir2, "config"), body, strlen (body))
             == 0,
           "rewrite config");
  }
  CHECK (repo_open (dir2) == NULL && strstr (get_error (), "has key slots"),
         "downgrade accepted: %s", get_error ());
  strbuf_release (&exp);
  return 0;
}
