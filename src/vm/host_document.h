/* Reading a host backup's JSON document back (host_capture.c writes
 * it), as hostile input: every field is checked, files are only ever
 * under the paths a host backup keeps. */
#ifndef VMB_VM_HOST_DOCUMENT_H
#define VMB_VM_HOST_DOCUMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/vector.h"
#include "virt/host_objects.h"

struct host_file {
  char *path;
  mode_t mode;
  unsigned char *data;
  size_t len;
};
DEFINE_VECTOR_TYPE (host_file_vector, struct host_file);

/* A VM the host had, as it was when the host was backed up. */
struct host_vm {
  char *name;
  char *state; /* "running", "paused", "pmsuspended", "shut off" */
  bool autostart;
};
DEFINE_VECTOR_TYPE (host_vm_vector, struct host_vm);

struct host_doc {
  char *hostname;
  host_object_vector objects; /* in restore order (by kind) */
  host_file_vector files;
  host_vm_vector vms; /* in the order the host listed them */
};

/* Parse text into *doc (zeroed); -1 with the error set. */
int host_doc_parse (const char *text, size_t len, struct host_doc *doc);
void host_doc_free (struct host_doc *doc);
/* Read host backup m's document (host_restore.c); -1 with the error
 * set, also when m is not a host backup. */
struct repo;
struct manifest;
int host_doc_load (struct repo *repo, const struct manifest *m,
                   struct host_doc *doc);
/* Whether a host backup may hold path (and so a restore write it). */
int host_file_path_allowed (const char *path);

#endif
