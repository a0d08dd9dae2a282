/* Re-read every chunk a backup references and check it against its
 * digest.  Each unique chunk is read once per run, however many backups
 * share it; every problem is reported with backup, disk and offset. */
#ifndef VMB_VERIFY_H
#define VMB_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "digest_set.h"
#include "manifest.h"
#include "repo.h"

typedef void (*verify_report_fn) (void *opaque, const char *problem);

struct verify {
  struct repo *repo;
  struct digest_set checked; /* tag and raw length per chunk (verify.c) */
  verify_report_fn report;
  void *opaque;
  uint64_t problems;
  uint64_t chunks_read;
  /* Leave damaged chunks in place instead of moving them to
   * quarantine/ (an append-only server must not remove anything). */
  bool keep_damaged;
};

void verify_init (struct verify *v, struct repo *repo, verify_report_fn report,
                  void *opaque);
void verify_free (struct verify *v);
/* Returns the number of problems found in this backup, or -1 when the
 * check itself could not run (out of memory). */
int64_t verify_backup (struct verify *v, const struct manifest *m);

/* Verify the backups ids (all when n is 0; an ID that names no backup
 * is a problem, reported), where the backend says (next to the data if
 * it can).  -1 only when the run itself failed. */
int verify_run (struct repo *repo, char *const *ids, size_t n,
                verify_report_fn report, void *opaque,
                struct backend_verify_result *res);

#endif
