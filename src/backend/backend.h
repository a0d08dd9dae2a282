/* The storage backend interface: what a repository needs from the place
 * that keeps its bytes.  A backend is a struct of operations, as an
 * nbdkit plugin is: src/backend/local/ (a directory), src/backend/ssh/
 * (a "vmbackup serve" at the far end of ssh).  A new one is one folder
 * plus one line in backend.c's table; nothing above this layer asks which
 * backend it has.
 *
 * What a backend stores is opaque to it: chunk files (header, CRC, zstd:
 * repo/chunk.c), sealed indexes (repo/index.c) and manifest text
 * (repo/manifest.c) are checked by the repository code, on both sides of
 * a network link.  A backend moves, names, dates and deletes them.
 *
 * Names (docs/repository-format.pod gives the layout a directory backend
 * uses; an object store may use the same strings as keys):
 *   chunk   a digest; stored as chunks/XX/<hex>
 *   index   a digest; stored as indexes/<hex>.idx
 *   backup  "NAME/STAMP"; stored as backups/NAME/STAMP
 *   key     a key slot ID, 16 lower-case hex digits; stored as
 *           keys/<id> (an encrypted repository's wrapped master key,
 *           one small text object per passphrase or key file)
 *
 * Errors: every operation that returns int returns -1 with the error set
 * (common/error.h: set_error, with errno and a message naming the object)
 * and leaves nothing half-visible behind.  Optional operations are marked
 * so; a NULL optional operation means "nothing to do" (hints) or "the
 * repository code does the work itself over the other operations"
 * (gc_offload, verify_offload).  A backend that fills in gc_offload may
 * leave gc_begin, gc_sweep and gc_end NULL; one that fills in
 * verify_offload may leave chunk_quarantine NULL.
 *
 * Threads: chunk_put, chunk_refresh, chunk_get and the hints are called
 * from several threads at once, each passing its own worker handle
 * (worker_open); everything else is called from one thread.
 *
 * Notes for an object-store backend (S3): there is no flock and no atomic
 * rename, but put-if-absent (If-None-Match: *) gives manifest_reserve and
 * index_put their "never replace" rule, list by prefix gives
 * manifest_list and gc_sweep, and chunk_refresh can rewrite a small
 * marker or copy-in-place to move LastModified.  The writer/gc exclusion
 * below is stated as a contract, so that writer registrations can be
 * heartbeat objects and gc's cutoff "oldest live heartbeat minus a grace
 * period"; the local backend's flocks are one way to meet it. */
#ifndef VMB_BACKEND_H
#define VMB_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/format.h"

/* Chunk buffers handed to chunk_put have room up to the next multiple of
 * this past their length, and are aligned to it: a backend may write
 * them with O_DIRECT. */
#define BACKEND_ALIGN 4096

struct backend;

/* Key slots: their names and largest size, and how many a repository
 * may have (docs/repository-format.pod, KEY SLOTS). */
#define BACKEND_KEY_ID_LEN 16
#define BACKEND_KEY_MAX 1024
#define BACKEND_MAX_KEY_SLOTS 32

/* Config version 2 names the cipher of an encrypted repository; these
 * are the values of crypto/aead.h's enum aead_cipher, which this layer
 * does not use. */
#define BACKEND_FORMAT_VERSION_ENCRYPTED 2
#define BACKEND_ENCRYPTION_NONE 0
#define BACKEND_ENCRYPTION_AES_256_GCM 1
#define BACKEND_ENCRYPTION_CHACHA20_POLY1305 2

/* What init creates. */
struct backend_new {
  uint32_t chunk_size;
  uint32_t encryption; /* BACKEND_ENCRYPTION_* */
  /* Encrypted: the first key slot, stored before the config. */
  const char *key_id;
  const char *key_text;
  size_t key_len;
  /* S3 Object Lock: 0, or the days every stored object is kept. */
  int immutable_days;
  bool immutable_governance;
};

/* What one writer session added (writer_flush). */
struct backend_stats {
  uint64_t new_chunks;
  uint64_t new_bytes; /* bytes of chunk files written */
  uint64_t reused_chunks;
};

/* What a gc run did (repo/gc.c, or gc_offload). */
struct gc_stats {
  uint64_t backups;
  uint64_t chunks_kept;
  uint64_t chunks_deleted;
  uint64_t bytes_deleted;
  uint64_t indexes_deleted;
  uint64_t tmp_deleted;
};

/* What a verify run did (verify_offload). */
struct backend_verify_result {
  uint64_t backups, chunks_read, problems;
};

/* gc_sweep's classes of objects. */
enum backend_sweep {
  SWEEP_CHUNKS,  /* chunks whose first byte is prefix */
  SWEEP_INDEXES, /* every index */
  SWEEP_TMP,     /* leftovers of killed writers: all go */
};

/* gc_sweep asks, for each object of the class, whether a backup
 * references it. */
typedef bool (*backend_keep_fn) (void *opaque, const struct digest *d);
/* One line for the user (a message, not an error): gc_sweep uses it to
 * say why it waits. */
typedef void (*backend_notice_fn) (void *opaque, const char *msg);
/* A problem found by verify_offload, one line. */
typedef void (*backend_report_fn) (void *opaque, const char *problem);

struct backend_ops {
  const char *name;

  /* Does this backend serve location (a URL or a path)?  The registry
   * asks each backend in table order; the last one (local) takes
   * everything. */
  bool (*handles) (const char *location);

  /* --- Repository life --- */

  /* Create an empty repository at location as nc says, with a fresh
   * random ID: for an encrypted one, its first key slot is stored
   * before the configuration.  The configuration is written last, so
   * that an interrupted init never passes for a repository. */
  int (*init) (const char *location, const struct backend_new *nc);
  /* Open an existing repository: set be->priv, be->id, be->chunk_size,
   * be->encryption and be->append_only.  A clear error when location is
   * not one. */
  int (*open) (struct backend *be, const char *location);
  void (*close) (struct backend *be);
  /* A malloc'd directory on this host where the repository code may
   * create temporary files (index and stream-map writers).  A file made
   * there can be handed to index_put by name, which lets a directory
   * backend rename it into place rather than copy it. */
  char *(*tmpdir) (struct backend *be);

  /* --- Per-thread handle --- */

  /* A file descriptor the calling thread owns and passes to chunk_put
   * and chunk_refresh, closed by the caller with close().  The local
   * backend takes its per-prefix OFD locks on it (they belong to the open
   * file description, so threads must not share one); a backend that
   * needs none returns one on /dev/null. */
  int (*worker_open) (struct backend *be);

  /* --- Writer sessions: chunks --- */

  /* Start the (one) writer session of this handle.  Contract with gc:
   * from the moment writer_begin returns until writer_end, every chunk
   * and index this session stores or refreshes survives any gc, even one
   * that does not yet see the manifest referring to them. */
  int (*writer_begin) (struct backend *be);
  /* Is chunk d stored?  1: yes, and now refreshed, so that a gc running
   * concurrently keeps it (the writer will reference it without
   * rewriting it); 0: no (nor waiting in this session), the caller must
   * put it; -1: error.  A chunk quarantined by verify answers 0. */
  int (*chunk_refresh) (struct backend *be, int worker,
                        const struct digest *d);
  /* Optional: may this session name chunk d without chunk_refresh, d
   * being named by a backup that was in the repository after
   * writer_begin returned?  Yes where nothing deletes such a chunk while
   * the session lives, d is not quarantined and a reuse needs no other
   * work (S3: no gc works while a writer's lease lives; not in an
   * immutable repository, where a reuse extends the chunk's
   * retention).  NULL: never (a local gc runs beside writers and keeps
   * only what they refresh). */
  bool (*chunk_kept) (struct backend *be, const struct digest *d);
  /* Optional hint: chunk_refresh will soon be asked about d (a backend
   * with a round trip per question asks now; a few dozen kept). */
  void (*chunk_refresh_ahead) (struct backend *be, const struct digest *d);
  /* Store the encoded chunk enc (len bytes; see BACKEND_ALIGN) as d.
   * May be asynchronous: an error may surface from a later call or from
   * writer_flush, and the chunk need not be visible before writer_flush.
   * An existing chunk d is never replaced.  check: the caller did not ask
   * chunk_refresh first (the server, for a client that may lie), so look
   * first and refresh instead of writing.  *stored: this call wrote it
   * (false: it was there, or already waiting in this session). */
  int (*chunk_put) (struct backend *be, int worker, const struct digest *d,
                    const unsigned char *enc, size_t len, bool check,
                    bool *stored);
  /* Every chunk put so far is durable and visible.  stats: a backend
   * that counts on the far side overwrites new_chunks and new_bytes. */
  int (*writer_flush) (struct backend *be, struct backend_stats *stats);
  /* End the session: unflushed chunks are dropped, the registration
   * goes. */
  void (*writer_end) (struct backend *be);

  /* --- Chunks: reading, repair --- */

  /* The stored bytes of chunk d into buf (capacity cap), *len their
   * length.  A missing chunk is an error whose message ends ": missing"
   * with errno unset and error kind ERROR_MISSING; a stored file that
   * cannot be a chunk (too large) is ERROR_DAMAGED; anything else
   * (permissions, I/O, not a regular file, the link) is ERROR_OTHER:
   * the chunk may be whole, and verify leaves it alone.  Never blocks
   * on a special file in the chunk's place. */
  int (*chunk_get) (struct backend *be, const struct digest *d,
                    unsigned char *buf, size_t cap, size_t *len);
  /* Optional: the first hdrlen bytes of chunk d as stored, and the
   * length of the whole file in *filelen, without reading the rest (a
   * server checking what a manifest names reads only headers).  Missing:
   * as chunk_get.  NULL: the caller uses chunk_get. */
  int (*chunk_head) (struct backend *be, const struct digest *d,
                     unsigned char *hdr, size_t hdrlen, uint64_t *filelen);
  /* Optional hint: chunk_get will soon be asked for d. */
  void (*chunk_prefetch) (struct backend *be, const struct digest *d);
  /* Optional: how many chunks ahead of the one it reads a reader that
   * goes through a whole disk in order (a disk restore) should name to
   * chunk_prefetch: fewer than the backend holds fetched, so that its
   * hints never push out a chunk fetched for it and not yet claimed.
   * 0: such a reader names none. */
  unsigned chunk_prefetch_depth;
  /* Take damaged chunk d out of use (a later chunk_refresh answers 0,
   * so the next backup of the same data stores a good copy) but keep its
   * bytes for forensics.  0 done, -1 not done. */
  int (*chunk_quarantine) (struct backend *be, const struct digest *d);

  /* --- Indexes (small objects named by their digest) --- */

  /* Store the sealed index id: len bytes of fd, which the caller
   * checked.  tmppath, if not NULL, is fd's name in tmpdir().  Takes
   * ownership of fd and tmppath's file (both closed/removed on return).
   * Put-if-absent: an index already there has the same bytes and is
   * refreshed instead (gc keeps it as it keeps a refreshed chunk). */
  int (*index_put) (struct backend *be, const struct digest *id, int fd,
                    const char *tmppath, uint64_t len);
  /* A readable, seekable fd holding index id (the caller closes it).
   * Missing: error "...: missing", errno unset. */
  int (*index_open) (struct backend *be, const struct digest *id);

  /* --- Manifests (small objects named "NAME/STAMP") --- */

  /* Reserve a new backup ID for name at time (UTC "%Y%m%dT%H%M%SZ",
   * ".2", ".3"... when taken): put-if-absent of a reservation that no
   * listing shows.  *id malloc'd. */
  int (*manifest_reserve) (struct backend *be, const char *name, int64_t time,
                           char **id);
  void (*manifest_unreserve) (struct backend *be, const char *id);
  /* Optional: reserve exactly id ("NAME/STAMP" or "NAME/STAMP.N"), for
   * a backup copied from another repository that keeps its ID there
   * (repo/copy.c).  A backup id that exists is an error, and so is a
   * running backup's reservation of id; a copy's reservation (one a
   * killed copy left) is taken over: the commit never replaces a
   * manifest, so two copies of one ID cannot both publish it.
   * NULL: the repository code reserves with manifest_reserve at the
   * ID's time and gives up unless it got id itself. */
  int (*manifest_reserve_id) (struct backend *be, const char *id);
  /* Publish manifest text as backup id (reserved before), durably;
   * never replaces one.  This is what makes a backup visible. */
  int (*manifest_commit) (struct backend *be, const char *id,
                          const char *text);
  /* The text of backup id (at most max bytes; malloc'd, NUL-terminated).
   * Missing: error "no backup ID". */
  int (*manifest_get) (struct backend *be, const char *id, size_t max,
                       char **text, size_t *len);
  /* The IDs of name's backups, or of all backups if name is NULL,
   * appended to *ids (malloc'd strings; *ids grows with realloc). */
  int (*manifest_list) (struct backend *be, const char *name, char ***ids,
                        size_t *n);
  int (*manifest_delete) (struct backend *be, const char *id);

  /* --- Key slots (small text objects named by their ID) ---
   *
   * The backend neither reads nor checks them (repo/keyring.c does, and
   * bounds their number and size); it keeps each one as an object of
   * its own that is created once and never rewritten, so that adding a
   * passphrase can never damage the slots already there. */

  /* The IDs of the stored slots (names of BACKEND_KEY_ID_LEN lower-case
   * hex digits; anything else under keys/ is not a slot), into ids, at
   * most max of them: more is an error ("more than MAX key slots", with
   * *n set to max; any other error leaves it below max), so
   * that a hostile repository with thousands of slots costs one bounded
   * listing.  A repository without keys/ has none. */
  int (*key_list) (struct backend *be, char (*ids)[BACKEND_KEY_ID_LEN + 1],
                   size_t max, size_t *n);
  /* The text of slot id (at most BACKEND_KEY_MAX bytes; malloc'd,
   * NUL-terminated).  Missing: error "key slot ID: missing". */
  int (*key_get) (struct backend *be, const char *id, char **text,
                  size_t *len);
  /* Store slot id, durably before returning; put-if-absent: a slot
   * that exists is an error and is left as it was. */
  int (*key_put) (struct backend *be, const char *id, const char *text,
                  size_t len);
  /* Remove slot id, durably. */
  int (*key_delete) (struct backend *be, const char *id);

  /* --- gc --- */

  /* Start a gc: exclude other gcs ("another gc is running") and fix the
   * cutoff: only objects last stored or refreshed before every live
   * writer session began (and before now) may be swept.  A dead writer's
   * registration is removed here.  A backend that must wait for running
   * backups says so through notice. */
  int (*gc_begin) (struct backend *be, backend_notice_fn notice,
                   void *notice_opaque);
  /* Delete the objects of one class that keep() rejects and that are
   * older than the cutoff, excluding writers meanwhile (a chunk is
   * either refreshed and kept, or deleted and stored again, never
   * refreshed-then-deleted).  dry_run: count only.  Counts go to
   * *kept, *deleted and *bytes. */
  int (*gc_sweep) (struct backend *be, enum backend_sweep what,
                   unsigned prefix, backend_keep_fn keep, void *opaque,
                   bool dry_run, backend_notice_fn notice, void *notice_opaque,
                   uint64_t *kept, uint64_t *deleted, uint64_t *bytes);
  void (*gc_end) (struct backend *be);

  /* --- Optional: whole-repository work done next to the data --- */

  /* Run all of gc where the data is (ssh: on the server, one request). */
  int (*gc_offload) (struct backend *be, bool dry_run, struct gc_stats *st);
  /* Verify the backups ids (all when n is 0) where the data is. */
  int (*verify_offload) (struct backend *be, char *const *ids, size_t n,
                         backend_report_fn report, void *opaque,
                         struct backend_verify_result *res);
};

/* The start of the notice a gc_sweep gives for objects it would have
 * deleted but Object Lock keeps (the CLI makes an event of it). */
#define BACKEND_NOTICE_LOCKED "gc: kept "

/* An open repository's storage. */
struct backend {
  const struct backend_ops *ops;
  void *priv;     /* the backend's own */
  char *location; /* as given: a path or a URL */
  char id[33];    /* repository ID, hex */
  uint32_t chunk_size;
  /* 0: stored in the clear (config version 1); else the cipher the
   * config names, as a number this layer does not interpret
   * (BACKEND_ENCRYPTION_*, the values of crypto/aead.h's enum). */
  uint32_t encryption;
  bool append_only; /* the far side refuses deletes */
};

/* backend.c: pick the backend for location and open or create the
 * repository there. */
struct backend *backend_open (const char *location);
int backend_init (const char *location, const struct backend_new *nc);
void backend_close (struct backend *be);

/* config.c: the repository's "config" object, for backends that store
 * it themselves. */
#define BACKEND_FORMAT_VERSION FORMAT_VERSION
#define BACKEND_MIN_CHUNK FORMAT_MIN_CHUNK
#define BACKEND_MAX_CHUNK FORMAT_MAX_CHUNK
#define BACKEND_CONFIG_MAX 4096
bool backend_chunk_size_valid (uint32_t chunk_size);
/* A new config text with a fresh random ID, malloc'd: version 1 for a
 * repository in the clear, 2 with an "encryption" line otherwise. */
char *backend_config_new (uint32_t chunk_size, uint32_t encryption);
/* "aes-256-gcm" for BACKEND_ENCRYPTION_AES_256_GCM...; NULL if unknown. */
const char *backend_encryption_name (uint32_t encryption);
int backend_config_parse (struct backend *be, const char *text);

#endif
