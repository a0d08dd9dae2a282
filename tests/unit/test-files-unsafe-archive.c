/* A hostile archive cannot make restore write outside its target: a
 * catalogue entry "../x" or "/x" stops the restore before anything is
 * written there, and a symlink "a" -> outside followed by an entry
 * "a/x" puts x in a real directory a inside the target, never through
 * the symlink.  The archives are real ones, in a real repository,
 * written by the real stream writer with the record bytes edited. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/events.h"
#include "files/catalogue.h"
#include "files/file_restore.h"
#include "files/stream_writer.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "repo/store.h"
#include "test.h"

static char dir[512];
static struct repo *repo;

static void
ignore (void *opaque, const char *msg)
{
  (void) opaque;
  fprintf (stderr, "(reported: %s)\n", msg);
}

static struct catalogue_state state;

static void
add (struct strbuf *cat, enum entry_type type, const char *path,
     const char *bad_path, const char *target, uint64_t data_len)
{
  struct file_entry e = { .type = type, .mode = 0755, .size = data_len };
  size_t start = cat->len;

  e.path = strdup (path);
  e.user = strdup ("");
  e.group = strdup ("");
  e.target = target ? strdup (target) : NULL;
  if (data_len)
    extent_vector_append (&e.extents, (struct extent) { 0, data_len });
  CHECK (catalogue_encode (&e, &state, cat) == 0, "encode: %s", get_error ());
  if (bad_path) {
    char *at = memmem (cat->buf + start, cat->len - start, path,
                       strlen (path));
    CHECK (strlen (bad_path) == strlen (path), "same length");
    memcpy (at, bad_path, strlen (bad_path));
  }
  file_entry_release (&e);
}

/* Empty the catalogue state and start cat with the magic. */
static void
start_catalogue (struct strbuf *cat)
{
  memset (&state, 0, sizeof state);
  strbuf_add (cat, CATALOGUE_MAGIC, CATALOGUE_MAGIC_LEN);
}

/* Publish a file backup whose catalogue is cat (released here) and whose
 * data stream is "hello". */
static struct manifest *
publish (const char *name, struct strbuf *cat, uint64_t entries)
{
  struct manifest m = { .name = (char *) name,
                        .kind = "files",
                        .consistency = "live",
                        .time = time (NULL),
                        .chunk_size = repo->chunk_size };
  struct cdc_params cdc;
  struct stream_writer data, cw;
  struct store store;
  struct manifest *out;

  cdc_params_for_data (&cdc, repo->chunk_size);
  CHECK (store_begin (&store, repo) == 0, "store: %s", get_error ());
  CHECK (stream_writer_open (&data, &store, &cdc, 1, 3) == 0
           && stream_writer_write (&data, "hello", 5) == 0
           && stream_writer_finish (&data, &m.archive.data_map,
                                    &m.archive.data_chunks,
                                    &m.archive.data_size)
             == 0,
         "data: %s", get_error ());
  cdc_params_for_catalogue (&cdc, repo->chunk_size);
  CHECK (stream_writer_open (&cw, &store, &cdc, 0, 3) == 0
           && stream_writer_write (&cw, cat->buf, cat->len) == 0
           && stream_writer_finish (&cw, &m.archive.catalogue_map,
                                    &m.archive.catalogue_chunks,
                                    &m.archive.catalogue_size)
             == 0,
         "catalogue: %s", get_error ());
  stream_writer_close (&data);
  stream_writer_close (&cw);
  store_end (&store);
  m.archive.present = true;
  m.archive.entries = entries;
  CHECK (manifest_commit (repo, &m) == 0, "commit: %s", get_error ());
  out = manifest_resolve (repo, m.id);
  CHECK (out != NULL, "resolve: %s", get_error ());
  free (m.id);
  strbuf_release (cat);
  return out;
}

static int
restore (const struct manifest *m, const char *to)
{
  struct event_log ev;
  struct files_restore_result res;
  int r;

  CHECK (event_log_open (&ev, "/dev/null") == 0, "event log");
  struct files_restore_params p = {
    .repo = repo, .m = m, .to = to, .events = &ev, .report = ignore
  };
  r = files_restore (&p, &res);
  if (r == -1)
    fprintf (stderr, "(restore failed: %s)\n", get_error ());
  event_log_close (&ev);
  return r == -1 ? -1 : (int) res.errors;
}

static bool
exists (const char *rel)
{
  char path[1024];
  struct stat st;

  snprintf (path, sizeof path, "%s/%s", dir, rel);
  return lstat (path, &st) == 0;
}

int
main (void)
{
  char path[1024], target[1024];
  struct strbuf cat = STRBUF_INIT;
  struct manifest *m;

  snprintf (dir, sizeof dir, "%s", test_tmpdir ());
  snprintf (path, sizeof path, "%s/repo", dir);
  CHECK (repo_init (path, 64 << 10, 0, NULL, NULL) == 0, "init: %s",
         get_error ());
  repo = repo_open (path);
  CHECK (repo != NULL, "open: %s", get_error ());
  snprintf (path, sizeof path, "%s/target", dir);
  CHECK (mkdir (path, 0700) == 0, "mkdir target");
  /* Restores go one level down, so that "../x" would still land in our
   * scratch directory where we can look for it. */
  snprintf (target, sizeof target, "%s/target/inner", dir);
  snprintf (path, sizeof path, "%s/outside", dir);
  CHECK (mkdir (path, 0700) == 0, "mkdir outside");

  /* "../x": two levels up from target/inner would be dir/x. */
  start_catalogue (&cat);
  add (&cat, ENTRY_DIR, "d", NULL, NULL, 0);
  add (&cat, ENTRY_REG, "d/ab/x", "d/../x", NULL, 5);
  m = publish ("dotdot", &cat, 2);
  CHECK (restore (m, target) == -1, "restore of '../x' succeeded");
  CHECK (strstr (get_error (), "unsafe path"), "error: %s", get_error ());
  CHECK (!exists ("target/x") && !exists ("x"), "wrote outside the target");
  manifest_free (m);

  /* "/x" as the first entry. */
  start_catalogue (&cat);
  add (&cat, ENTRY_REG, "ax", "/x", NULL, 5);
  m = publish ("absolute", &cat, 1);
  CHECK (restore (m, target) == -1, "restore of '/x' succeeded");
  CHECK (strstr (get_error (), "unsafe path"), "error: %s", get_error ());
  manifest_free (m);

  /* A symlink to outside, then an entry beneath it. */
  snprintf (path, sizeof path, "%s/outside", dir);
  start_catalogue (&cat);
  add (&cat, ENTRY_SYMLINK, "a", NULL, path, 0);
  add (&cat, ENTRY_REG, "a/x", NULL, NULL, 5);
  m = publish ("symlink", &cat, 2);
  CHECK (restore (m, target) == 0, "symlink restore failed");
  CHECK (!exists ("outside/x"), "wrote through a symlink");
  CHECK (exists ("target/inner/a/x"), "a/x not restored inside the target");
  manifest_free (m);

  /* A sane archive restores (the failures above are the paths). */
  start_catalogue (&cat);
  add (&cat, ENTRY_DIR, "h", NULL, NULL, 0);
  add (&cat, ENTRY_REG, "h/x", NULL, NULL, 5);
  m = publish ("plain", &cat, 2);
  CHECK (restore (m, target) == 0, "plain restore failed");
  CHECK (exists ("target/inner/h/x"), "h/x missing");
  manifest_free (m);

  repo_close (repo);
  return 0;
}
