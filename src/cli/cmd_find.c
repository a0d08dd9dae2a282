/* vmbackup find PATTERN NAME|ID...: which backups hold a file, without
 * restoring any disk.  A files backup is answered from its catalogue;
 * a disk backup from its guest file systems, each disk mounted for the
 * command alone (private_mount.h), one after the other, and searched
 * with glob(3) under every file system the appliance could read. */
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "files/catalogue_reader.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "cli.h"
#include "parse_options.h"
#include "private_mount.h"

struct find {
  const char *pattern; /* absolute, as the user gave it */
  struct repo *repo;
  struct strbuf key; /* exported for the mounts' exports, "" in the clear */
  const char *repo_opt, *diskname;
  bool json;
  struct strbuf out; /* --json: the array so far */
  uint64_t matches;
  unsigned backups_with, failed;
};

/* One match: PATH is as restore takes it (files: /etc/fstab; a disk:
 * /vda1/etc/fstab, the file system first). */
static void
found (struct find *f, const char *id, const char *where, char type,
       uint64_t size, int64_t mtime, const char *path)
{
  char t[32];

  format_time (mtime, t, sizeof t);
  if (f->json) {
    strbuf_addstr (&f->out,
                   f->matches ? ",\n  {\"backup\": " : "\n  {\"backup\": ");
    strbuf_add_json_string (&f->out, id);
    strbuf_addstr (&f->out, ", \"disk\": ");
    strbuf_add_json_string (&f->out, where);
    strbuf_addstr (&f->out, ", \"path\": ");
    strbuf_add_json_string (&f->out, path);
    strbuf_addf (&f->out,
                 ", \"type\": \"%s\", \"size\": %" PRIu64
                 ", \"mtime\": %" PRId64 "}",
                 type == 'd'     ? "directory"
                   : type == 'l' ? "symlink"
                   : type == '-' ? "file"
                                 : "other",
                 size, mtime);
  }
  else
    printf ("%s %s %c %12" PRIu64 " %s %s\n", id, where, type, size, t, path);
  f->matches++;
}

static char
stat_type (mode_t m)
{
  return S_ISREG (m) ? '-' : S_ISDIR (m) ? 'd' : S_ISLNK (m) ? 'l' : '?';
}

static char
entry_type (const struct file_entry *e)
{
  return e->type == ENTRY_REG  ? '-'
    : e->type == ENTRY_DIR     ? 'd'
    : e->type == ENTRY_SYMLINK ? 'l'
                               : '?';
}

/* A files backup: every catalogue entry whose path the pattern matches
 * ('*' does not cross '/' nor match a leading '.', as in glob). */
static int
find_in_files (struct find *f, struct repo *repo, const struct manifest *m)
{
  struct catalogue_reader cat;
  char path[PATH_MAX + 2];
  int more;

  if (catalogue_reader_open (&cat, repo, &m->archive) == -1) {
    cli_error ("backup %s: %s", m->id, get_error ());
    return -1;
  }
  for (;;) {
    struct file_entry e = { 0 };
    more = catalogue_reader_next (&cat, &e);
    if (more <= 0)
      break;
    if ((size_t) snprintf (path, sizeof path, "/%s", e.path) < sizeof path
        && fnmatch (f->pattern, path, FNM_PATHNAME | FNM_PERIOD) == 0)
      found (f, m->id, "files", entry_type (&e),
             e.type == ENTRY_DIR ? 0 : e.size, e.mtime_sec, path);
    file_entry_release (&e);
  }
  catalogue_reader_close (&cat);
  if (more == -1) {
    cli_error ("backup %s: %s", m->id, get_error ());
    return -1;
  }
  return 0;
}

/* One disk: mounted, then the pattern under each file system. */
static int
find_in_disk (struct find *f, const struct manifest *m, const char *disk)
{
  struct cli_private_mount pm = { 0 };
  char prefix[512], pattern[PATH_MAX * 2];
  glob_t fs, g;
  int key_fd, r = 0;

  snprintf (prefix, sizeof prefix, "find: backup %s disk %s:", m->id, disk);
  pm.lines.notes = stderr;
  pm.lines.prefix = prefix;
  key_fd = f->key.len ? cli_key_text_pipe (&f->key) : -1;
  if ((f->key.len && key_fd == -1)
      || cli_mount_source_init (&pm.src, f->repo, m, disk, key_fd) == -1
      || cli_private_mount_start (&pm) == -1)
    return -1;
  /* The file systems: one directory each under the mount. */
  snprintf (pattern, sizeof pattern, "%s/*", pm.dir);
  if (glob (pattern, 0, NULL, &fs) == 0) {
    for (size_t i = 0; i < fs.gl_pathc; i++) {
      const char *fsname = fs.gl_pathv[i] + strlen (pm.dir);
      snprintf (pattern, sizeof pattern, "%s%s", fs.gl_pathv[i], f->pattern);
      int gr = glob (pattern, 0, NULL, &g);
      if (gr == GLOB_NOMATCH)
        continue;
      if (gr != 0) {
        cli_error ("backup %s disk %s: reading %s failed", m->id, disk,
                   fsname);
        r = -1;
        continue;
      }
      for (size_t k = 0; k < g.gl_pathc; k++) {
        struct stat st;
        if (lstat (g.gl_pathv[k], &st) == -1)
          continue;
        found (f, m->id, disk, stat_type (st.st_mode),
               S_ISDIR (st.st_mode) ? 0 : (uint64_t) st.st_size, st.st_mtime,
               g.gl_pathv[k] + strlen (pm.dir));
      }
      globfree (&g);
    }
    globfree (&fs);
  }
  if (cli_private_mount_close (&pm) == -1)
    r = -1;
  return r;
}

static int
find_in_backup (struct find *f, struct repo *repo, const struct manifest *m)
{
  uint64_t before = f->matches;
  bool disk_seen = false;
  int r = 0;

  if (m->archive.present)
    r = find_in_files (f, repo, m);
  for (size_t i = 0; i < m->disks.len; i++) {
    const char *disk = m->disks.ptr[i].name;
    if (f->diskname && strcmp (f->diskname, disk) != 0)
      continue;
    disk_seen = true;
    if (find_in_disk (f, m, disk) == -1)
      r = -1;
  }
  if (f->diskname && !disk_seen && !m->archive.present) {
    cli_error ("backup %s has no disk %s", m->id, f->diskname);
    return -1;
  }
  if (f->matches > before)
    f->backups_with++;
  return r;
}

/* NAME: its backups, oldest first; NAME/STAMP: that one. */
static int
select_backups (struct repo *repo, const char *arg, manifest_vector *v)
{
  char encoded[NAME_MAX_LEN + 1];
  size_t had = v->len;

  if (strchr (arg, '/')) {
    struct manifest *m = manifest_resolve (repo, arg);
    if (m == NULL) {
      cli_error ("%s", get_error ());
      return -1;
    }
    if (manifest_vector_append (v, m) == -1) {
      manifest_free (m);
      cli_error ("out of memory");
      return -1;
    }
    return 0;
  }
  if (backup_name_of (arg, encoded) == -1) {
    cli_error ("%s", get_error ());
    return -1;
  }
  if (manifest_list (repo, encoded, v, NULL, NULL) == -1) {
    cli_error ("%s", get_error ());
    return -1;
  }
  if (v->len == had) {
    cli_error ("no backup named %s in %s", arg, repo->path);
    return -1;
  }
  return 0;
}

int
cmd_find (int argc, char **argv)
{
  struct find f = { .out = STRBUF_INIT, .key = STRBUF_INIT };
  bool key_failed;
  manifest_vector v = empty_vector;
  struct repo *repo;
  int c, r = EXIT_FAIL;
  const struct opt opts[] = {
    OPT_STRING (0, "disk", &f.diskname, "TARGET",
                "search only this disk of each backup (vda)"),
    OPT_FLAG (0, "json", &f.json, "print the matches as a JSON array"),
    OPT_REPO (&f.repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((c = parse_options ("find", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (argc - optind < 2)
    return cli_usage_error ("find",
                            "give a path PATTERN and at least one backup "
                            "NAME or ID");
  f.pattern = argv[optind];
  if (!cli_guest_path_is_safe (f.pattern))
    return cli_usage_error ("find",
                            "PATTERN %s: give an absolute path in the "
                            "guest (/etc/fstab, /home/*/.bashrc), "
                            "without '..'",
                            f.pattern);
  repo = f.repo = cli_open_repo (f.repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  /* Unlocked once for all the disks' exports. */
  if (cli_export_key_text (repo, &f.key, &key_failed) == -1 && key_failed)
    goto out;
  for (int i = optind + 1; i < argc; i++)
    if (select_backups (repo, argv[i], &v) == -1)
      goto out;
  for (size_t i = 0; i < v.len; i++)
    if (find_in_backup (&f, repo, v.ptr[i]) == -1)
      f.failed++;
  if (f.json)
    printf ("[%s%s]\n", f.out.buf, f.matches ? "\n" : "");
  if (f.failed == 0 && f.matches == 0)
    cli_error ("none of the %zu backup%s holds %s", v.len,
               v.len == 1 ? "" : "s", f.pattern);
  else if (!f.json)
    fprintf (stderr, "%" PRIu64 " match%s in %u of %zu backup%s\n", f.matches,
             f.matches == 1 ? "" : "es", f.backups_with, v.len,
             v.len == 1 ? "" : "s");
  r = f.failed == 0 && f.matches ? EXIT_OK : EXIT_FAIL;
out:
  strbuf_release (&f.out);
  OPENSSL_cleanse (f.key.buf, f.key.len);
  strbuf_release (&f.key);
  manifest_vector_free (&v);
  repo_close (repo);
  return r;
}
