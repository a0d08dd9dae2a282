/* A restore of one disk that goes on where a killed or failed one
 * stopped (restore --to PATH --resume, and the fill of an instant
 * restore).  Beside the partial image (.NAME.vmbackup-partial) a record,
 * the partial's name + ".progress", says how many chunks from the start
 * of the disk are written and durable, and for which index and format:
 *
 *   vmbackup-restore-progress 1 INDEX-HEX FORMAT CHUNK-COUNT DONE\n
 *
 * The record is replaced atomically, and only after an fdatasync of the
 * partial image has made those chunks durable, so after a kill or a
 * power cut it never claims more than the image holds.  Chunks at and
 * after DONE are written again: a chunk's bytes depend only on the
 * index, so writing one twice changes nothing (and a new qcow2 image's
 * layout is planned from the index alone, so it is the same too). */
#ifndef VMB_RESTORE_RESUME_H
#define VMB_RESTORE_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"

/* PARTIAL.progress into out.  0, or -1 when it does not fit. */
int restore_resume_record_path (const char *partial, char *out, size_t len);

/* The chunks the record at path says are done, for a restore of this
 * index, format and chunk count; 0 when there is no record, or it is
 * for another restore, or it cannot be read or parsed (it is then
 * someone else's, or damaged: the restore starts afresh). */
uint64_t restore_resume_load (const char *path, const struct digest *index,
                              const char *format, uint64_t chunk_count);

/* Record that chunks [0, done) are durable.  0, or -1 with the error. */
int restore_resume_save (const char *path, const struct digest *index,
                         const char *format, uint64_t chunk_count,
                         uint64_t done);

#endif
