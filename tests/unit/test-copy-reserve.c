/* What lets a copied backup keep its ID (repo/copy.c): the time an ID's
 * STAMP names (manifest_id_time: only real dates, the inverse of how
 * IDs are made), and reserving exactly an ID (manifest_reserve_exact
 * over the local backend's manifest_reserve_id): an ID that is a backup
 * is refused, a reservation a killed copy left is taken over but not a
 * (possibly running) backup's, an ID that
 * does not match the backup's time or name, or that would leave
 * backups/NAME/, is refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "repo/manifest.h"
#include "repo/repo.h"
#include "test.h"

static void
id_times (void)
{
  static const char *bad[] = {
    "web/20261399T000000Z",
    "web/20260230T000000Z",
    "web/20261204T246000Z",
    "web/20261204T181760Z",
    "web/20261204T181750",
    "web/x",
    "nothing",
  };
  int64_t t;

  CHECK (manifest_id_time ("web/20261204T181750Z", &t) == 0 && t == 1796408270,
         "time of a plain ID: %s", get_error ());
  CHECK (manifest_id_time ("web/20261204T181750Z.12", &t) == 0
           && t == 1796408270,
         "time of a suffixed ID");
  CHECK (manifest_id_time ("web/19700101T000000Z", &t) == 0 && t == 0, "1970");
  CHECK (manifest_id_time ("w/99991231T235959Z", &t) == 0
           && t == MANIFEST_TIME_MAX,
         "the last second of 9999");
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK (manifest_id_time (bad[i], &t) == -1, "\"%s\" gave a time", bad[i]);
}

int
main (void)
{
  char dir[512], resv[600], path[600];
  struct repo *repo;
  struct manifest m = { .name = (char *) "web",
                        .id = (char *) "web/20261204T181750Z.3",
                        .time = 1796408270,
                        .kind = (char *) "image",
                        .consistency = (char *) "offline",
                        .finished = 1796408271 };
  struct manifest wrong_time = m, wrong_name = m, escape = m;

  id_times ();

  snprintf (dir, sizeof dir, "%s/repo", test_tmpdir ());
  CHECK (repo_init (dir, 64 * 1024, 0, NULL, NULL) == 0, "init: %s",
         get_error ());
  repo = repo_open (dir);
  CHECK (repo != NULL, "open: %s", get_error ());
  m.chunk_size = repo->chunk_size;

  /* Exactly the ID asked for, ".3" included, though STAMP is free. */
  CHECK (manifest_reserve_exact (repo, &m) == 0, "reserve: %s", get_error ());
  snprintf (resv, sizeof resv, "%s/backups/web/.reserved-20261204T181750Z.3",
            dir);
  CHECK (access (resv, F_OK) == 0, "no reservation file");
  /* A killed copy's reservation is taken over. */
  CHECK (manifest_reserve_exact (repo, &m) == 0, "reserve again: %s",
         get_error ());
  CHECK (manifest_commit (repo, &m) == 0, "commit: %s", get_error ());
  snprintf (path, sizeof path, "%s/backups/web/20261204T181750Z.3", dir);
  CHECK (access (path, F_OK) == 0 && access (resv, F_OK) == -1,
         "commit did not publish, or left the reservation");
  /* A backup that exists is never reserved again. */
  CHECK (manifest_reserve_exact (repo, &m) == -1
           && strstr (get_error (), "exists"),
         "reserved a published ID: %s", get_error ());

  /* A backup's reservation (empty) is left to its backup. */
  {
    struct manifest running = m;
    char other[600];
    FILE *f;

    running.id = (char *) "web/20261204T181750Z";
    snprintf (other, sizeof other, "%s/backups/web/.reserved-20261204T181750Z",
              dir);
    f = fopen (other, "w");
    CHECK (f != NULL && fclose (f) == 0, "make %s", other);
    CHECK (manifest_reserve_exact (repo, &running) == -1
             && strstr (get_error (), "reserved by a backup that is running"),
           "took over a backup's reservation: %s", get_error ());
    CHECK (access (other, F_OK) == 0, "a backup's reservation removed");
  }

  wrong_time.time++;
  CHECK (manifest_reserve_exact (repo, &wrong_time) == -1
           && strstr (get_error (), "bad backup ID"),
         "an ID that is not the backup's time reserved");
  wrong_name.name = (char *) "we";
  CHECK (manifest_reserve_exact (repo, &wrong_name) == -1,
         "an ID of another name reserved");
  escape.name = (char *) "..";
  escape.id = (char *) "../20261204T181750Z";
  CHECK (manifest_reserve_exact (repo, &escape) == -1,
         "an ID outside backups/ reserved");
  CHECK (repo->be->ops->manifest_reserve_id (repo->be, "../x/y") == -1
           && repo->be->ops->manifest_reserve_id (repo->be, "web/../x") == -1
           && repo->be->ops->manifest_reserve_id (repo->be, "noslash") == -1,
         "the backend took a path for an ID");
  repo_close (repo);
  return 0;
}
