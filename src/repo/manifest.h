/* Backup manifests: the one file that makes a backup exist.
 *
 * A manifest is UTF-8 text, one "key value" per line, closed by a
 * "checksum <sha256>" line over everything before it.  It is written last
 * and atomically, at backups/<name>/<stamp>, so a backup that did not
 * finish is never listed.  docs/repository-format.pod has the grammar. */
#ifndef VMB_MANIFEST_H
#define VMB_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/vector.h"
#include "common/digest.h"
#include "common/format.h"
#include "repo.h"

#define MANIFEST_MAX FORMAT_MANIFEST_MAX
#define NAME_MAX_LEN 64

struct manifest_disk {
  char *name;          /* image name or disk target ("vda") */
  char *format;        /* "raw" or "qcow2": the source's format */
  char *source;        /* where it was read from, informational */
  uint64_t size;       /* virtual size in bytes */
  struct digest index; /* indexes/<hex>.idx */
  uint64_t stored_new; /* bytes of new chunks this disk added */
  bool incremental;    /* only what changed since the previous
                                 * backup's checkpoint was read */
  uint64_t bytes_read; /* bytes read from the source */
  char *image;         /* identity of the image read ("DEV:INO"),
                                 * so a dirty bitmap is never trusted for
                                 * another image; may be NULL */
};
DEFINE_VECTOR_TYPE (manifest_disk_vector, struct manifest_disk);

/* A configuration file kept with a VM backup (domain XML, NVRAM, TPM
 * state, snapshot metadata), chunked like a disk. */
struct manifest_file {
  char *role; /* "domain-xml", "nvram", "tpm", ... */
  char *path; /* where it came from */
  uint64_t size;
  struct digest index;
};
DEFINE_VECTOR_TYPE (manifest_file_vector, struct manifest_file);

/* A disk the host could not back up, with the reason. */
struct manifest_excluded {
  char *target;
  char *reason;
};
DEFINE_VECTOR_TYPE (manifest_excluded_vector, struct manifest_excluded);

/* The archive of a file backup (kind "files"): two streams cut at
 * content-defined points, each described by a stream map
 * (stream_map.h) stored under an ordinary index.  The data stream holds
 * the file contents, the catalogue stream one record per entry
 * (src/files/catalogue.h). */
struct manifest_archive {
  bool present;
  struct digest data_map; /* index of the data stream's map */
  uint64_t data_size, data_chunks;
  struct digest catalogue_map;
  uint64_t catalogue_size, catalogue_chunks;
  uint64_t entries; /* catalogue records */
  uint64_t bytes;   /* sum of regular file sizes */
  uint64_t stored_new;
};

struct manifest {
  char *id; /* "<name>/<stamp>" */
  char *name;
  char *kind;        /* "image", "vm" or "files" */
  char *consistency; /* "application", "crash" or "offline" */
  int64_t time;      /* start, seconds since the epoch */
  int64_t finished;
  int64_t downtime_ms;
  uint32_t chunk_size;
  char *checkpoint; /* VM: the libvirt checkpoint marking this
                                 * backup's point in time, or NULL */
  char *run;        /* VM: identity of the qemu process that
                                 * ran it, or NULL when shut off */
  bool autostart;   /* VM: libvirt starts it with the host */
  manifest_disk_vector disks;
  manifest_file_vector files;
  manifest_excluded_vector excluded;
  struct manifest_archive archive;
  /* In an encrypted repository (manifest version 2): the whole manifest,
   * encrypted, in base64.  The fields above are then the readable
   * envelope (manifest_seal.c) until the key holder unseals it. */
  char *sealed;
};

void manifest_free (struct manifest *m);
uint64_t manifest_logical_size (const struct manifest *m);
uint64_t manifest_stored_new (const struct manifest *m);

/* Serialise to text (malloc'd, NUL-terminated). */
char *manifest_serialize (const struct manifest *m);
/* Parse and check the checksum; *m must be zeroed. */
int manifest_parse (const char *text, size_t len, struct manifest *m);

/* manifest_seal.c: in an encrypted repository, the manifest is stored
 * as a readable envelope (what prune, gc and a verifier without the key
 * need: IDs, times, sizes, the indexes it names) around the sealed whole
 * (docs/repository-format.pod, ENCRYPTION). */
char *manifest_serialize_sealed (const struct repo *repo,
                                 const struct manifest *m);
/* After manifest_parse: a sealed manifest is opened when the repository
 * is unlocked (*m is replaced by what was sealed, checked against the
 * envelope) and kept as its envelope when it is not; a manifest that is
 * sealed in a repository in the clear, or in the clear in an encrypted
 * one, is refused. */
int manifest_unseal (const struct repo *repo, struct manifest **m);

/* Backup names: [A-Za-z0-9._-], 1 to 64, not starting with '.'. */
int name_is_valid (const char *name);
/* The backup name for a name that may not be one (libvirt allows any VM
 * name without '/': "web server", "Сервер"): itself when valid, else
 * each byte outside [A-Za-z0-9.-] (and a leading '.') as _XX in hex, so
 * "web server" is backed up as "web_20server".  -1 with the error set
 * when even that is not a backup name (empty, or over 64 bytes). */
int backup_name_of (const char *name, char out[NAME_MAX_LEN + 1]);

/* Assign m->id from m->name and m->time and hold it (a second backup in
 * the same second gets a suffix), so the backup has its ID from the
 * start. */
int manifest_reserve (struct repo *repo, struct manifest *m);
/* Reserve exactly m->id, already set (a backup copied from another
 * repository keeps its ID, repo/copy.h), with the backend's
 * manifest_reserve_id, or else with manifest_reserve at the ID's time
 * when that gives the same ID.  An ID that exists is an error. */
int manifest_reserve_exact (struct repo *repo, const struct manifest *m);
/* Release the ID of a backup that failed. */
void manifest_unreserve (struct repo *repo, const struct manifest *m);
/* Publish the manifest atomically under its reserved ID (reserving one
 * first if m->id is NULL). */
int manifest_commit (struct repo *repo, struct manifest *m);

DEFINE_VECTOR_TYPE (manifest_vector, struct manifest *);

/* Called for a manifest that cannot be read or parsed. */
typedef void (*manifest_error_fn) (void *opaque, const char *id,
                                   const char *msg);

/* The latest backup time vmbackup accepts (9999-12-31T23:59:59Z), so
 * that every STAMP has the one form "YYYYMMDDTHHMMSSZ" and sorts as its
 * time does. */
#define MANIFEST_TIME_MAX INT64_C (253402300799)
#define MANIFEST_STAMP_LEN 16

/* Is id ("NAME/STAMP"), as a backend lists it, one of ours: a valid
 * backup name, a STAMP of the form above, and nothing or ".N" (N from 2
 * to 999, as reservation makes them) after it?  Anything else (a stray
 * directory, a forged ID) is skipped. */
bool manifest_id_is_ours (const char *id);
/* The same, and its STAMP is the one of a backup started at time. */
bool manifest_id_matches (const char *id, int64_t time);
/* The time the STAMP of id (manifest_id_is_ours) names; -1 if it is
 * not one of ours. */
int manifest_id_time (const char *id, int64_t *time);

/* All manifests (of one name if name != NULL), oldest first. */
int manifest_list (struct repo *repo, const char *name, manifest_vector *out,
                   manifest_error_fn on_error, void *opaque);
void manifest_vector_free (manifest_vector *v);

/* Load "NAME" (its latest backup) or "NAME/STAMP". */
struct manifest *manifest_resolve (struct repo *repo, const char *id);

int manifest_delete (struct repo *repo, const char *id);

#endif
