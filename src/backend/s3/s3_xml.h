/* The XML S3 answers with: error bodies and ListObjectsV2 pages.  The
 * answer is untrusted input: parsed by libxml2 without network access or
 * entity expansion, every key checked before a caller sees it. */
#ifndef VMB_S3_XML_H
#define VMB_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "s3_client.h"

/* Code and Message of an <Error> body (empty strings if none). */
void s3_xml_error (const char *body, size_t len, char *code, size_t codecap,
                   char *message, size_t msgcap);

/* Call fn for each <Contents> of a ListObjectsV2 page, with the key less
 * the repository prefix (a key outside it is an error: the server
 * answered something we did not ask).  *next is the malloc'd
 * continuation token when the listing is truncated, else NULL. */
int s3_xml_list_page (const char *body, size_t len, const char *prefix,
                      s3_list_fn fn, void *opaque, char **next);

/* One version (or delete marker) of a ListObjectVersions page, key less
 * the repository prefix. */
typedef int (*s3_version_fn) (void *opaque, const char *key,
                              const char *version, bool delete_marker,
                              uint64_t size, time_t mtime);
/* Each <Version> and <DeleteMarker> of the page, in its order (by key,
 * newest first); *next_key and *next_version (malloc'd) when truncated. */
int s3_xml_versions_page (const char *body, size_t len, const char *prefix,
                          s3_version_fn fn, void *opaque, char **next_key,
                          char **next_version);
/* Is <ObjectLockEnabled>Enabled</...> in this ObjectLockConfiguration? */
bool s3_xml_lock_enabled (const char *body, size_t len);

#endif
