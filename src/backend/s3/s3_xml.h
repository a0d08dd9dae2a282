/* The XML S3 answers with: error bodies and ListObjectsV2 pages.  The
 * answer is untrusted input: parsed by libxml2 without network access or
 * entity expansion, every key checked before a caller sees it. */
#ifndef VMB_S3_XML_H
#define VMB_S3_XML_H

#include <stddef.h>

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

#endif
