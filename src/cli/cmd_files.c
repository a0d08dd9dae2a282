/* vmbackup files backup|ls|restore: file backups (in a guest, or on any
 * Linux machine) into the same repository as VM backups. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/events.h"
#include "common/strbuf.h"
#include "common/units.h"
#include "files/backup_run.h"
#include "files/catalogue_reader.h"
#include "files/file_backup.h"
#include "files/file_restore.h"
#include "repo/manifest.h"
#include "cli.h"
#include "parse_options.h"

#define DEFAULT_LEVEL FILES_DEFAULT_LEVEL
#define MAX_ARGS 256

int
cmd_files_backup (int argc, char **argv)
{
  const char *excludes[MAX_ARGS];
  struct opt_strings exclude = OPT_STRINGS_INIT (excludes);
  const char *repo_opt = NULL, *name = NULL;
  struct files_backup_params p = { .level = DEFAULT_LEVEL,
                                   .excludes = (char **) excludes };
  struct files_backup_outcome out;
  const struct files_backup_result *res = &out.res;
  struct event_log events;
  struct repo *repo;
  bool reread = false;
  char rd[32], nw[32], sz[32];
  int c, r = EXIT_FAIL;
  const struct opt opts[] = {
    OPT_STRING (0, "name", &name, "NAME", "the backup's name (required)"),
    OPT_STRING_LIST (0, "exclude", &exclude, "PATTERN",
                     "leave out what "
                     "matches (a glob; with a '/' it is matched against "
                     "the whole path, else the name); repeatable"),
    OPT_FLAG (0, "one-file-system", &p.one_file_system,
              "do not enter "
              "other mounted file systems"),
    OPT_FLAG (0, "reread", &reread,
              "read every file, even those the last "
              "backup of NAME has with the same size, mtime, ctime, inode"),
    OPT_INT (0, "compression", &p.level, "N", 1, 19, "compression level",
             "zstd level, 1-19 (default 3)"),
    OPT_REPO (&repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((c = parse_options ("files backup", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  p.nexcludes = exclude.len;
  if (name == NULL)
    return cli_usage_error ("files", "files backup needs --name NAME");
  if (!name_is_valid (name))
    return cli_usage_error ("files",
                            "bad backup name '%s' (letters, digits, "
                            "'.', '_', '-'; at most 64)",
                            name);
  if (optind == argc)
    return cli_usage_error ("files", "files backup needs at least one PATH");
  for (int i = optind; i < argc; i++) {
    struct stat st;
    if (lstat (argv[i], &st) == -1) {
      cli_error ("%s: %s", argv[i], strerror (errno));
      return EXIT_FAIL;
    }
  }
  p.roots = argv + optind;
  p.nroots = argc - optind;
  if (cli_open_events (&events) == -1)
    return EXIT_FAIL;
  repo = cli_open_repo (repo_opt);
  if (repo == NULL) {
    event_log_close (&events);
    return EXIT_FAIL;
  }
  if (files_backup_run (repo, name, reread, &p, &events, &out) == -1) {
    cli_error ("files backup %s: %s", name, get_error ());
    goto out;
  }
  printf ("backup %s: %" PRIu64 " files, %" PRIu64 " directories, %" PRIu64
          " other; %s, %s read, %s new, %.1f s\n",
          out.id, res->files, res->dirs, res->others,
          format_size (res->archive.bytes, sz, sizeof sz),
          format_size (res->bytes_read, rd, sizeof rd),
          format_size (out.stored_new, nw, sizeof nw), out.seconds);
  if (res->parent_failed)
    cli_warning ("the previous backup %s could not be used: files were read "
                 "again (run 'vmbackup verify')",
                 out.parent);
  if (res->changed)
    cli_warning ("%" PRIu64 " file%s changed while read and may be "
                 "inconsistent (event 3000)",
                 res->changed, res->changed == 1 ? "" : "s");
  r = EXIT_OK;
  if (res->skipped) {
    cli_error ("backup %s: %" PRIu64 " entr%s could not be read and %s left "
               "out (see 'vmbackup events %s')",
               out.id, res->skipped, res->skipped == 1 ? "y" : "ies",
               res->skipped == 1 ? "is" : "are", name);
    r = EXIT_FAIL;
  }
out:
  repo_close (repo);
  event_log_close (&events);
  return r;
}

static void
mode_string (const struct file_entry *e, char *out)
{
  static const char types[] = "?-dlcbp";
  static const char rwx[] = "rwxrwxrwx";

  out[0] = types[e->type];
  for (int i = 0; i < 9; i++)
    out[1 + i] = e->mode & (0400 >> i) ? rwx[i] : '-';
  if (e->mode & 04000)
    out[3] = out[3] == 'x' ? 's' : 'S';
  if (e->mode & 02000)
    out[6] = out[6] == 'x' ? 's' : 'S';
  if (e->mode & 01000)
    out[9] = out[9] == 'x' ? 't' : 'T';
  out[10] = '\0';
}

static void
print_entry (const struct file_entry *e)
{
  char mode[11], owner[600], size[48], t[32];

  mode_string (e, mode);
  snprintf (owner, sizeof owner, "%s/%s", e->user[0] ? e->user : "",
            e->group[0] ? e->group : "");
  if (!e->user[0] || !e->group[0]) {
    char u[16], g[16];
    snprintf (u, sizeof u, "%u", e->uid);
    snprintf (g, sizeof g, "%u", e->gid);
    snprintf (owner, sizeof owner, "%s/%s", e->user[0] ? e->user : u,
              e->group[0] ? e->group : g);
  }
  if (e->type == ENTRY_CHR || e->type == ENTRY_BLK)
    snprintf (size, sizeof size, "%u,%u", e->rdev_major, e->rdev_minor);
  else
    snprintf (size, sizeof size, "%" PRIu64,
              e->type == ENTRY_DIR ? 0 : e->size);
  printf ("%s %-17s %12s %s /%s", mode, owner, size,
          format_time (e->mtime_sec, t, sizeof t), e->path);
  if (e->type == ENTRY_SYMLINK)
    printf (" -> %s", e->target);
  if (e->flags & ENTRY_HARDLINK)
    printf (" link to /%s", e->target);
  if (e->flags & ENTRY_CHANGED)
    printf (" (changed while read)");
  putchar ('\n');
}

static void
json_entry (struct strbuf *sb, const struct file_entry *e, bool first)
{
  static const char *types[] = {
    "", "file", "directory", "symlink", "char-device", "block-device", "fifo",
  };

  strbuf_addstr (sb, first ? "\n {\"path\": " : ",\n {\"path\": ");
  strbuf_add_json_string (sb, e->path);
  strbuf_addf (sb,
               ", \"type\": \"%s\", \"mode\": %u, \"uid\": %u, "
               "\"gid\": %u, \"user\": ",
               types[e->type], e->mode, e->uid, e->gid);
  strbuf_add_json_string (sb, e->user);
  strbuf_addstr (sb, ", \"group\": ");
  strbuf_add_json_string (sb, e->group);
  strbuf_addf (sb,
               ", \"size\": %" PRIu64 ", \"mtime\": %" PRId64
               ", \"mtime_nsec\": %u, \"changed_while_read\": %s",
               e->size, e->mtime_sec, e->mtime_nsec,
               e->flags & ENTRY_CHANGED ? "true" : "false");
  if (e->type == ENTRY_SYMLINK || (e->flags & ENTRY_HARDLINK)) {
    strbuf_addstr (sb,
                   e->flags & ENTRY_HARDLINK ? ", \"hard_link_to\": "
                                             : ", \"target\": ");
    strbuf_add_json_string (sb, e->target);
  }
  if (e->type == ENTRY_CHR || e->type == ENTRY_BLK)
    strbuf_addf (sb, ", \"major\": %u, \"minor\": %u", e->rdev_major,
                 e->rdev_minor);
  strbuf_addstr (sb, ", \"xattrs\": [");
  for (size_t i = 0; i < e->xattrs.len; i++) {
    if (i)
      strbuf_addstr (sb, ", ");
    strbuf_add_json_string (sb, e->xattrs.ptr[i].name);
  }
  strbuf_addstr (sb, "]}");
}

/* "/etc/ssh/" -> "etc/ssh": archive paths are relative. */
static char *
archive_path (char *arg)
{
  size_t n;

  while (arg[0] == '/')
    arg++;
  n = strlen (arg);
  while (n > 0 && arg[n - 1] == '/')
    arg[--n] = '\0';
  return arg;
}

static bool
under (const char *path, const char *prefix)
{
  size_t l = strlen (prefix);

  return l == 0
    || (strncmp (path, prefix, l) == 0 && (path[l] == '\0' || path[l] == '/'));
}

/* Load ID and check it is a file backup; NULL after printing why. */
static struct manifest *
load_files_backup (struct repo *repo, const char *id, int *rc)
{
  struct manifest *m = manifest_resolve (repo, id);

  *rc = EXIT_FAIL;
  if (m == NULL)
    cli_error ("%s", get_error ());
  else if (!m->archive.present) {
    cli_usage_error ("files", "backup %s is a %s backup, not a file backup",
                     m->id, m->kind);
    *rc = EXIT_USAGE;
    manifest_free (m);
    m = NULL;
  }
  return m;
}

int
cmd_files_ls (int argc, char **argv)
{
  const char *repo_opt = NULL, *prefix = "";
  struct strbuf sb = STRBUF_INIT;
  struct catalogue_reader cat;
  struct manifest *m;
  struct repo *repo;
  bool json = false;
  uint64_t shown = 0;
  int c, r = EXIT_FAIL, more;
  const struct opt opts[] = {
    OPT_FLAG (0, "json", &json, "print JSON, one object per entry"),
    OPT_REPO (&repo_opt),
    OPT_END (),
  };

  if ((c = parse_options ("files ls", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (optind == argc || argc - optind > 2)
    return cli_usage_error ("files",
                            "files ls takes an ID and at most one "
                            "PATH");
  if (argc - optind == 2)
    prefix = archive_path (argv[optind + 1]);
  repo = cli_open_repo (repo_opt);
  if (repo == NULL)
    return EXIT_FAIL;
  m = load_files_backup (repo, argv[optind], &r);
  if (m == NULL)
    goto out_repo;
  if (catalogue_reader_open (&cat, repo, &m->archive) == -1) {
    cli_error ("backup %s: %s", m->id, get_error ());
    goto out_m;
  }
  if (json)
    strbuf_addstr (&sb, "[");
  while (1) {
    struct file_entry e = { 0 };
    more = catalogue_reader_next (&cat, &e);
    if (more <= 0)
      break;
    if (under (e.path, prefix)) {
      if (json)
        json_entry (&sb, &e, shown == 0);
      else
        print_entry (&e);
      shown++;
    }
    file_entry_release (&e);
  }
  if (more == -1)
    cli_error ("backup %s: %s", m->id, get_error ());
  else if (prefix[0] && shown == 0)
    cli_error ("backup %s has no /%s", m->id, prefix);
  else {
    if (json) {
      strbuf_addstr (&sb, shown ? "\n]\n" : "]\n");
      fputs (sb.buf, stdout);
    }
    r = EXIT_OK;
  }
  strbuf_release (&sb);
  catalogue_reader_close (&cat);
out_m:
  manifest_free (m);
out_repo:
  repo_close (repo);
  return r;
}

static void
report_entry (void *opaque, const char *msg)
{
  cli_error ("restore %s: %s", (const char *) opaque, msg);
}

int
cmd_files_restore (int argc, char **argv)
{
  const char *repo_opt = NULL, *to = NULL;
  struct files_restore_result res;
  struct event_log events;
  struct manifest *m;
  struct repo *repo;
  double t0 = now_monotonic ();
  char sz[32];
  int c, r = EXIT_FAIL;
  const struct opt opts[] = {
    OPT_STRING (0, "to", &to, "DIR", "restore inside DIR (required)"),
    OPT_REPO (&repo_opt),
    OPT_EVENT_LOG (&global_event_log),
    OPT_END (),
  };

  if ((c = parse_options ("files restore", opts, argc, argv)) != PARSE_GO_ON)
    return c;
  if (optind == argc)
    return cli_usage_error ("files", "files restore needs a backup ID");
  if (to == NULL)
    return cli_usage_error ("files", "files restore needs --to DIR");
  for (int i = optind + 1; i < argc; i++)
    if (archive_path (argv[i])[0] == '\0')
      return cli_usage_error ("files",
                              "'%s' is not a path in a backup "
                              "(leave it out to restore everything)",
                              argv[i]);
  if (cli_open_events (&events) == -1)
    return EXIT_FAIL;
  repo = cli_open_repo (repo_opt);
  if (repo == NULL) {
    event_log_close (&events);
    return EXIT_FAIL;
  }
  m = load_files_backup (repo, argv[optind], &r);
  if (m == NULL)
    goto out_repo;
  for (int i = optind + 1; i < argc; i++)
    argv[i] = archive_path (argv[i]);
  event_log_reset (&events, m->name, m->id);
  event_emit (&events, EV_RESTORE_STARTED, "restore of file backup %s to %s",
              m->id, to);
  struct files_restore_params p = {
    .repo = repo,
    .m = m,
    .to = to,
    .paths = argv + optind + 1,
    .npaths = argc - optind - 1,
    .events = &events,
    .report = report_entry,
    .opaque = m->id,
  };
  if (files_restore (&p, &res) == -1) {
    event_emit (&events, EV_RESTORE_FAILED, "%s", get_error ());
    cli_error ("restore %s: %s", m->id, get_error ());
    goto out_m;
  }
  if (res.no_owner) {
    event_emit (&events, EV_FILE_RESTORE_NO_OWNER,
                "ownership of %" PRIu64 " entries not restored", res.no_owner);
    cli_warning ("ownership of %" PRIu64 " entr%s not restored (needs root)",
                 res.no_owner, res.no_owner == 1 ? "y" : "ies");
  }
  if (res.no_devices) {
    event_emit (&events, EV_FILE_RESTORE_NO_DEVICES,
                "%" PRIu64 " device "
                "nodes not created",
                res.no_devices);
    cli_warning ("%" PRIu64 " device node%s not created (needs root)",
                 res.no_devices, res.no_devices == 1 ? "" : "s");
  }
  if (res.no_xattrs) {
    event_emit (&events, EV_FILE_RESTORE_NO_XATTRS,
                "%" PRIu64 " extended "
                "attributes not restored",
                res.no_xattrs);
    cli_warning ("%" PRIu64 " extended attribute%s not restored (not "
                 "permitted or not supported here)",
                 res.no_xattrs, res.no_xattrs == 1 ? "" : "s");
  }
  if (res.unmatched) {
    cli_error ("restore %s: no /%s in the backup", m->id, res.unmatched);
    res.errors++;
  }
  event_emit (&events, res.errors ? EV_RESTORE_FAILED : EV_RESTORE_FINISHED,
              "%" PRIu64 " entries restored, %" PRIu64 " failed", res.entries,
              res.errors);
  printf ("restored %" PRIu64 " entries (%s) from %s to %s in %.1f s%s\n",
          res.entries, format_size (res.bytes, sz, sizeof sz), m->id, to,
          now_monotonic () - t0, res.errors ? " with errors" : "");
  r = res.errors ? EXIT_FAIL : EXIT_OK;
out_m:
  manifest_free (m);
out_repo:
  repo_close (repo);
  event_log_close (&events);
  return r;
}
