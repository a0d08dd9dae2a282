/* Which of a VM backup's kept files restore may write, and where
 * (restore_plan.h).  The manifest is written by whoever could add a
 * backup (an append-only client among them), so a file line's path is
 * never a place to write by itself: a boot file must be one the
 * backed-up domain XML boots from, the NVRAM the one its <os><nvram>
 * names, a TPM state file one file of the state directory libvirt keeps
 * for the domain's emulated TPM.  The domain XML is in the backup too,
 * so every path taken from it must be a plain absolute path: no
 * relative path, and no empty, . or .. component that would make the
 * text name one place and the kernel another. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "restore_plan.h"

int
restore_path_check (const char *what, const char *path)
{
  if (path[0] != '/') {
    set_error (0, "%s %s: not an absolute path", what, path);
    return -1;
  }
  for (const char *c = path + 1;; c++) {
    size_t n = strcspn (c, "/");

    if (n == 0) {
      set_error (0, "%s %s: a path with an empty component", what, path);
      return -1;
    }
    if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
      set_error (0, "%s %s: a path with . or .. components", what, path);
      return -1;
    }
    c += n;
    if (*c == '\0')
      return 0;
  }
}

static int
plan_boot (struct restore_plan *plan, const struct domain_info *info,
           const struct manifest_file *f)
{
  int k;

  if (restore_path_check ("boot file", f->path) == -1)
    return -1;
  for (k = 0; k < BOOT_KINDS; k++)
    if (info->boot[k] && strcmp (info->boot[k], f->path) == 0)
      break;
  if (k == BOOT_KINDS) {
    set_error (0, "boot file %s is not named by the backed-up domain XML",
               f->path);
    return -1;
  }
  for (size_t i = 0; i < plan->nboot; i++)
    if (strcmp (plan->boot[i]->path, f->path) == 0) {
      set_error (0, "boot file %s is in the backup twice", f->path);
      return -1;
    }
  plan->boot[plan->nboot++] = f;
  return 0;
}

/* libvirt keeps an emulated TPM's state in SWTPM_STATE_DIR/UUID/VERSION,
 * VERSION tpm2 or tpm1.2; restore puts each file into the restored
 * domain's own directory (a new UUID under --as), so only VERSION/FILE
 * is taken from the line, and the line must be that shape exactly. */
/* "tpm2/FILE" or "tpm1.2/FILE": one of swtpm's version directories and
 * a file directly in it. */
static bool
tpm_file_name (const char *rest)
{
  const char *slash = strchr (rest, '/');
  size_t len;

  if (slash == NULL || strchr (slash + 1, '/') != NULL)
    return false;
  len = slash - rest;
  return (len == 4 && memcmp (rest, "tpm2", 4) == 0)
    || (len == 6 && memcmp (rest, "tpm1.2", 6) == 0);
}

static int
plan_tpm (struct restore_plan *plan, const struct domain_info *info,
          const struct manifest_file *f)
{
  static const char *const versions[] = { "tpm2", "tpm1.2" };
  CLEANUP_FREE char *dir = NULL;
  struct planned_tpm *t;
  size_t n;

  if (!info->has_tpm || info->uuid == NULL) {
    set_error (0,
               "TPM state file %s: the backed-up domain XML has no "
               "emulated TPM",
               f->path);
    return -1;
  }
  if (restore_path_check ("TPM state file", f->path) == -1)
    return -1;
  if (asprintf (&dir, "%s/%s/", SWTPM_STATE_DIR, info->uuid) == -1) {
    dir = NULL;
    set_error (ENOMEM, "restore plan");
    return -1;
  }
  n = strlen (dir);
  if (strncmp (f->path, dir, n) != 0 || !tpm_file_name (f->path + n)) {
    set_error (0,
               "TPM state file %s is not in %s%s or %s%s (the state "
               "libvirt keeps for the backed-up domain)",
               f->path, dir, versions[0], dir, versions[1]);
    return -1;
  }
  t = &plan->tpm[plan->ntpm];
  t->file = f;
  t->rel = strdup (f->path + n);
  if (t->rel == NULL) {
    set_error (ENOMEM, "restore plan");
    return -1;
  }
  plan->ntpm++;
  return 0;
}

int
restore_plan_files (const struct manifest *m, const struct domain_info *info,
                    struct restore_plan *plan)
{
  plan->boot = calloc (m->files.len + 1, sizeof *plan->boot);
  plan->tpm = calloc (m->files.len + 1, sizeof *plan->tpm);
  if (plan->boot == NULL || plan->tpm == NULL) {
    set_error (ENOMEM, "restore plan");
    return -1;
  }
  for (size_t i = 0; i < m->files.len; i++) {
    const struct manifest_file *f = &m->files.ptr[i];

    if (strcmp (f->role, "boot") == 0) {
      if (plan_boot (plan, info, f) == -1)
        return -1;
    }
    else if (strcmp (f->role, "tpm") == 0) {
      if (plan_tpm (plan, info, f) == -1)
        return -1;
    }
    else if (strcmp (f->role, "nvram") == 0) {
      /* Written where the plan puts the NVRAM (the XML's path, or one
       * under --storage / --as), but a line naming another file is not
       * this domain's NVRAM. */
      if (info->nvram == NULL || strcmp (info->nvram, f->path) != 0) {
        set_error (0,
                   "NVRAM file %s is not the <nvram> of the backed-up "
                   "domain XML",
                   f->path);
        return -1;
      }
      if (plan->nvram_file) {
        set_error (0, "NVRAM file %s is in the backup twice", f->path);
        return -1;
      }
      plan->nvram_file = f;
    }
  }
  return 0;
}
