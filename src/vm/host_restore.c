/* vmbackup restore ID --host (host_config.h): the plan first (each
 * object missing, the same, or different), nothing changed if anything
 * differs without --replace, then each object defined in dependency
 * order and each host file written, every one reported. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fsutil.h"
#include "repo/restore_file.h"
#include "host_config.h"
#include "host_document.h"
#include "host_private.h"

enum action { DEFINE, SAME, DIFFERS, RECORD_ONLY };

struct restore {
  const struct host_restore_opts *o;
  struct vm_host *h;
  unsigned failed;
};

static void
report (struct restore *r, int event, const char *kind, const char *name,
        const char *outcome, const char *detail)
{
  if (!r->o->dry_run && event)
    event_emit (r->o->events, event, "%s %s: %s%s%s", kind, name, outcome,
                detail ? ": " : "", detail ? detail : "");
  if (r->o->report)
    r->o->report (r->o->report_opaque, kind, name, outcome, detail);
}

static int
plan_object (struct restore *r, const struct host_object *o, enum action *a)
{
  const struct host_kind_ops *k = host_kind (o->kind);
  char *xml = NULL;
  int found;

  if (k->define == NULL) {
    *a = RECORD_ONLY;
    return 0;
  }
  found = k->lookup (r->h->conn, o->name, &xml);
  if (found < 0) {
    error_prefix ("%s %s", k->name, o->name);
    return -1;
  }
  *a = !found ? DEFINE : host_xml_same (xml, o->xml) ? SAME : DIFFERS;
  free (xml);
  return 0;
}

static void
apply_object (struct restore *r, const struct host_object *o, enum action a)
{
  const struct host_kind_ops *k = host_kind (o->kind);

  switch (a) {
    case RECORD_ONLY:
      report (r, EV_HOST_NOT_RESTORED, k->name, o->name, "not restored",
              k->not_restored);
      return;
    case SAME:
      report (r, EV_HOST_KEPT, k->name, o->name, "kept", "already there");
      return;
    case DIFFERS:
      if (r->o->dry_run) {
        report (r, 0, k->name, o->name, r->o->replace ? "replace" : "differs",
                "exists with other settings");
        return;
      }
      if (k->remove (r->h->conn, o->name) == -1) {
        r->failed++;
        report (r, EV_HOST_RESTORE_FAILED, k->name, o->name, "failed",
                get_error ());
        return;
      }
      /* Then defined again from the backup. */
      __attribute__ ((fallthrough));
    case DEFINE:
      if (r->o->dry_run) {
        report (r, 0, k->name, o->name, "define", NULL);
        return;
      }
      if (k->define (r->h->conn, o) == -1) {
        r->failed++;
        report (r, EV_HOST_RESTORE_FAILED, k->name, o->name, "failed",
                get_error ());
      }
      else if (a == DIFFERS)
        report (r, EV_HOST_REPLACED, k->name, o->name, "replaced", NULL);
      else
        report (r, EV_HOST_RESTORED, k->name, o->name, "restored",
                o->kind == HK_SECRET && !o->has_value ? "without a value"
                                                      : NULL);
      return;
  }
}

/* mkdir -p, for --files-to DIR. */
static int
make_dirs (char *dir)
{
  for (char *p = dir + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir (dir, 0755) == -1 && errno != EEXIST) {
        set_error (errno, "mkdir %s", dir);
        return -1;
      }
      *p = c;
      if (c == '\0')
        return 0;
    }
  }
}

/* Write f to path atomically, creating its directory. */
static int
write_host_file (const struct host_file *f, const char *path)
{
  char tmp[4200], dir[4096];
  char *slash;
  int fd;

  snprintf (dir, sizeof dir, "%s", path);
  slash = strrchr (dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (make_dirs (dir) == -1)
      return -1;
  }
  snprintf (tmp, sizeof tmp, "%s.vmbackup-XXXXXX", path);
  fd = mkstemp (tmp);
  if (fd == -1) {
    set_error (errno, "create %s", tmp);
    return -1;
  }
  if (write_full (fd, f->data, f->len, 0) == -1 || fchmod (fd, f->mode) == -1
      || fsync (fd) == -1) {
    set_error (errno, "write %s", tmp);
    close (fd);
    unlink (tmp);
    return -1;
  }
  close (fd);
  if (rename (tmp, path) == -1) {
    set_error (errno, "rename to %s", path);
    unlink (tmp);
    return -1;
  }
  return 0;
}

/* 1 if path holds exactly f's bytes, 0 if not, -1 if it is missing. */
static int
same_file (const struct host_file *f, const char *path)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  unsigned char *buf;
  struct stat st;
  int same;

  if (fd == -1)
    return -1;
  if (fstat (fd, &st) == -1 || (size_t) st.st_size != f->len
      || (buf = malloc (f->len + 1)) == NULL) {
    close (fd);
    return 0;
  }
  same = read_full (fd, buf, f->len, 0) == 0
    && memcmp (buf, f->data, f->len) == 0;
  free (buf);
  close (fd);
  return same;
}

static void
restore_file (struct restore *r, const struct host_file *f)
{
  char path[4200];
  int same;

  snprintf (path, sizeof path, "%s%s", r->o->files_to ? r->o->files_to : "",
            f->path);
  same = same_file (f, path);
  if (same == 1) {
    report (r, EV_HOST_KEPT, "file", f->path, "kept", "already there");
    return;
  }
  if (same == 0 && !r->o->replace && !r->o->files_to) {
    report (r, EV_HOST_KEPT, "file", f->path, "kept",
            "differs from the backup's (--replace overwrites it)");
    return;
  }
  if (r->o->dry_run) {
    report (r, 0, "file", f->path, same == 0 ? "replace" : "write", path);
    return;
  }
  if (write_host_file (f, path) == -1) {
    r->failed++;
    report (r, EV_HOST_RESTORE_FAILED, "file", f->path, "failed",
            get_error ());
  }
  else
    report (r, same == 0 ? EV_HOST_REPLACED : EV_HOST_RESTORED, "file",
            f->path, same == 0 ? "replaced" : "restored",
            r->o->files_to ? path : NULL);
}

int
host_doc_load (struct repo *repo, const struct manifest *m,
               struct host_doc *doc)
{
  const struct manifest_file *f = NULL;
  char *text = NULL;
  size_t len;
  int ret;

  for (size_t i = 0; i < m->files.len; i++)
    if (strcmp (m->files.ptr[i].role, HOST_CONFIG_ROLE) == 0)
      f = &m->files.ptr[i];
  if (strcmp (m->kind, "host") != 0 || f == NULL) {
    set_error (0, "backup %s is not a host backup", m->id);
    return -1;
  }
  if (restore_file_buffer (repo, f, HOST_CONFIG_MAX, &text, &len) == -1)
    return -1;
  ret = host_doc_parse (text, len, doc);
  free (text);
  if (ret == -1)
    error_prefix ("backup %s", m->id);
  return ret;
}

int
restore_host_config (struct repo *repo, struct vm_host *h,
                     const struct manifest *m,
                     const struct host_restore_opts *o)
{
  struct host_doc doc = { 0 };
  struct restore r = { .o = o, .h = h };
  enum action *plan = NULL;
  int ret = -1;

  if (host_doc_load (repo, m, &doc) == -1)
    return -1;
  plan = calloc (doc.objects.len + 1, sizeof *plan);
  if (plan == NULL) {
    set_error (ENOMEM, "host restore");
    goto out;
  }
  for (size_t i = 0; i < doc.objects.len; i++)
    if (plan_object (&r, &doc.objects.ptr[i], &plan[i]) == -1)
      goto out;
  /* Refuse before changing anything: a half-restored host is worse than
   * an untouched one. */
  for (size_t i = 0; !o->replace && !o->dry_run && i < doc.objects.len; i++)
    if (plan[i] == DIFFERS) {
      set_error (0,
                 "%s %s exists on this host with other settings; nothing "
                 "was changed (--replace puts the backup's in its place)",
                 host_kind (doc.objects.ptr[i].kind)->name,
                 doc.objects.ptr[i].name);
      ret = -2;
      goto out;
    }
  if (!o->dry_run)
    event_log_reset (o->events, doc.hostname, m->id);
  if (!o->dry_run)
    event_emit (o->events, EV_RESTORE_STARTED,
                "restore of host %s's configuration", doc.hostname);
  for (size_t i = 0; i < doc.objects.len; i++)
    apply_object (&r, &doc.objects.ptr[i], plan[i]);
  for (size_t i = 0; i < doc.files.len; i++)
    restore_file (&r, &doc.files.ptr[i]);
  if (r.failed) {
    set_error (0, "%u object%s not restored (see the events)", r.failed,
               r.failed == 1 ? "" : "s");
    if (!o->dry_run)
      event_emit (o->events, EV_RESTORE_FAILED, "%s", get_error ());
    goto out;
  }
  if (!o->dry_run)
    event_emit (o->events, EV_RESTORE_FINISHED, "host configuration restored");
  ret = 0;
out:
  free (plan);
  host_doc_free (&doc);
  return ret;
}
