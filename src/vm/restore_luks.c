/* LUKS-encrypted disk images (<encryption format='luks'> in the domain
 * XML).  A backup reads them through QEMU, so it holds the guest's view,
 * in the clear (and encrypted by the repository, if it is); restore
 * writes that view, then encrypts the staged image again with the
 * passphrase of the libvirt secret the disk names: the secret must be
 * on the host (restore --host or --all brings it back first). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "virt/conn.h"
#include "restore_run.h"

static const struct vm_disk *
domain_disk (const struct vm_restore *r, const char *target)
{
  for (size_t i = 0; i < r->info.disks.len; i++)
    if (strcmp (r->info.disks.ptr[i].target, target) == 0)
      return &r->info.disks.ptr[i];
  return NULL;
}

/* The passphrase into a new 0600 file beside the image (qemu-img reads
 * it from there: never on a command line), or -1. */
static int
write_key (virConnectPtr conn, const char *uuid, const char *key)
{
  virSecretPtr s = virSecretLookupByUUIDString (conn, uuid);
  unsigned char *value = NULL;
  size_t len = 0;
  int fd = -1, r = -1;

  if (s == NULL) {
    set_error (0,
               "secret %s (the disk's LUKS passphrase) is not on this host: "
               "restore the host's configuration first (restore --host)",
               uuid);
    return -1;
  }
  value = virSecretGetValue (s, &len, 0);
  if (value == NULL)
    set_error (0, "secret %s has no value libvirt gives out: %s", uuid,
               virt_error ());
  virSecretFree (s);
  if (value == NULL)
    return -1;
  fd = open (key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd == -1 || write_full (fd, value, len, 0) == -1)
    set_error (errno, "write %s", key);
  else
    r = 0;
  if (fd != -1)
    close (fd);
  memset (value, 0, len);
  free (value);
  return r;
}

int
restore_luks (struct vm_restore *r, struct planned_disk *pd)
{
  const struct vm_disk *d = domain_disk (r, pd->md->name);
  char key[4200], out[4200], secret[4300], opts[128];
  bool qcow2 = strcmp (pd->md->format, "qcow2") == 0;
  int ret;

  if (d == NULL || d->luks_secret == NULL)
    return 0;
  snprintf (key, sizeof key, "%s.key", pd->staged);
  snprintf (out, sizeof out, "%s.luks", pd->staged);
  snprintf (secret, sizeof secret, "secret,id=sec0,file=%s", key);
  snprintf (opts, sizeof opts, "%s",
            qcow2 ? "encrypt.format=luks,encrypt.key-secret=sec0"
                  : "key-secret=sec0");
  unlink (key); /* an earlier killed restore's */
  unlink (out);
  if (write_key (r->conn, d->luks_secret, key) == -1) {
    error_prefix ("disk %s", pd->md->name);
    return -1;
  }
  char *argv[] = { "qemu-img",
                   "convert",
                   "-q",
                   "--object",
                   secret,
                   "-O",
                   qcow2 ? "qcow2" : "luks",
                   "-o",
                   opts,
                   pd->staged,
                   out,
                   NULL };
  /* qemu-img times a first round of key derivation by the thread's CPU
   * time, which the kernel may count in whole ticks: a fast round reads
   * as 0 ms and qemu-img gives up ("Unable to get accurate CPU usage").
   * Another try measures again. */
  for (int attempt = 0; attempt < 5; attempt++) {
    unlink (out);
    if ((ret = restore_run_quiet (argv)) == 0)
      break;
  }
  unlink (key);
  if (ret == -1) {
    unlink (out);
    set_error (0, "disk %s: qemu-img could not encrypt it with secret %s",
               pd->md->name, d->luks_secret);
    return -1;
  }
  if (rename (out, pd->staged) == -1) {
    set_error (errno, "disk %s: rename %s", pd->md->name, out);
    unlink (out);
    return -1;
  }
  return 0;
}
