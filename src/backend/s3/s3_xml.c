/* Reading S3's XML answers (see s3_xml.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/error.h"
#include "s3_xml.h"

/* The document, or NULL.  No DTD, no entities, no network. */
static xmlDocPtr
parse (const char *body, size_t len)
{
  xmlDocPtr doc;

  if (len == 0 || len > INT32_MAX)
    return NULL;
  doc = xmlReadMemory (body, (int) len, "s3.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR
                         | XML_PARSE_NOWARNING);
  /* S3 never sends a DTD; one could only declare entities that expand
   * without bound when the text is read. */
  if (doc && doc->intSubset) {
    xmlFreeDoc (doc);
    return NULL;
  }
  return doc;
}

static bool
named (xmlNodePtr n, const char *name)
{
  return n->type == XML_ELEMENT_NODE
    && strcmp ((const char *) n->name, name) == 0;
}

static xmlNodePtr
child (xmlNodePtr n, const char *name)
{
  for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
    if (named (c, name))
      return c;
  return NULL;
}

/* The element's text (malloc'd by libxml2), or NULL. */
static char *
text_of (xmlNodePtr n)
{
  return n ? (char *) xmlNodeGetContent (n) : NULL;
}

static void
copy_text (xmlNodePtr n, char *buf, size_t cap)
{
  char *t = text_of (n);

  buf[0] = '\0';
  if (t) {
    size_t i = 0;
    /* One line: control characters from a hostile server are dropped. */
    for (const char *p = t; *p && i + 1 < cap; p++)
      if ((unsigned char) *p >= 0x20 && *p != 0x7f)
        buf[i++] = *p;
    buf[i] = '\0';
  }
  xmlFree (t);
}

void
s3_xml_error (const char *body, size_t len, char *code, size_t codecap,
              char *message, size_t msgcap)
{
  xmlDocPtr doc = parse (body, len);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;

  code[0] = message[0] = '\0';
  if (root && named (root, "Error")) {
    copy_text (child (root, "Code"), code, codecap);
    copy_text (child (root, "Message"), message, msgcap);
  }
  if (doc)
    xmlFreeDoc (doc);
}

/* "2026-12-04T15:02:30.121Z" */
static time_t
parse_time (const char *s)
{
  struct tm tm = { 0 };

  if (!s || !strptime (s, "%Y-%m-%dT%H:%M:%S", &tm))
    return 0;
  return timegm (&tm);
}

static int
one_object (xmlNodePtr contents, const char *prefix, s3_list_fn fn,
            void *opaque)
{
  char *key = text_of (child (contents, "Key"));
  char *size = text_of (child (contents, "Size"));
  char *mtime = text_of (child (contents, "LastModified"));
  size_t plen = strlen (prefix);
  char *end = NULL;
  uint64_t sz = 0;
  int ret;

  if (size) {
    errno = 0;
    sz = strtoull (size, &end, 10);
  }
  if (!key || strncmp (key, prefix, plen) != 0 || !key[plen] || !size || !*size
      || *end || errno) {
    char shown[256];
    size_t i = 0;
    /* The server's key, as one line: control characters are dropped. */
    for (const char *p = key ? key : "(none)"; *p && i + 1 < sizeof shown; p++)
      if ((unsigned char) *p >= 0x20 && *p != 0x7f)
        shown[i++] = *p;
    shown[i] = '\0';
    set_error (EIO, "S3 listing: bad entry (key %s outside %s, or no size)",
               shown, *prefix ? prefix : "the bucket");
    ret = -1;
  }
  else
    ret = fn (opaque, key + plen, sz, parse_time (mtime));
  xmlFree (key);
  xmlFree (size);
  xmlFree (mtime);
  return ret;
}

int
s3_xml_list_page (const char *body, size_t len, const char *prefix,
                  s3_list_fn fn, void *opaque, char **next)
{
  xmlDocPtr doc = parse (body, len);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  char *truncated = NULL;
  int ret = 0;

  *next = NULL;
  if (!root || !named (root, "ListBucketResult")) {
    set_error (EIO, "S3 listing: not a ListBucketResult answer");
    ret = -1;
    goto out;
  }
  for (xmlNodePtr c = root->children; c && ret == 0; c = c->next)
    if (named (c, "Contents"))
      ret = one_object (c, prefix, fn, opaque);
  if (ret != 0)
    goto out;
  truncated = text_of (child (root, "IsTruncated"));
  if (truncated && strcmp (truncated, "true") == 0) {
    char *tok = text_of (child (root, "NextContinuationToken"));
    if (!tok || !*tok) {
      set_error (EIO, "S3 listing: truncated without a continuation token");
      ret = -1;
    }
    else
      *next = strdup (tok);
    if (tok && *tok && !*next) {
      set_error (ENOMEM, "S3 listing: continuation token");
      ret = -1;
    }
    xmlFree (tok);
  }
out:
  xmlFree (truncated);
  if (doc)
    xmlFreeDoc (doc);
  return ret;
}

static int
one_version (xmlNodePtr v, bool marker, const char *prefix, s3_version_fn fn,
             void *opaque)
{
  char *key = text_of (child (v, "Key"));
  char *ver = text_of (child (v, "VersionId"));
  char *size = text_of (child (v, "Size"));
  char *mtime = text_of (child (v, "LastModified"));
  size_t plen = strlen (prefix);
  uint64_t sz = size ? strtoull (size, NULL, 10) : 0;
  int ret;

  if (!key || strncmp (key, prefix, plen) != 0 || !key[plen] || !ver
      || !*ver) {
    set_error (EIO,
               "S3 version listing: bad entry (a key outside %s, or "
               "no version ID)",
               *prefix ? prefix : "the bucket");
    ret = -1;
  }
  else
    ret = fn (opaque, key + plen, ver, marker, sz, parse_time (mtime));
  xmlFree (key);
  xmlFree (ver);
  xmlFree (size);
  xmlFree (mtime);
  return ret;
}

int
s3_xml_versions_page (const char *body, size_t len, const char *prefix,
                      s3_version_fn fn, void *opaque, char **next_key,
                      char **next_version)
{
  xmlDocPtr doc = parse (body, len);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  char *truncated = NULL;
  int ret = 0;

  *next_key = *next_version = NULL;
  if (!root || !named (root, "ListVersionsResult")) {
    set_error (EIO, "S3 version listing: not a ListVersionsResult answer");
    ret = -1;
    goto out;
  }
  for (xmlNodePtr c = root->children; c && ret == 0; c = c->next)
    if (named (c, "Version") || named (c, "DeleteMarker"))
      ret = one_version (c, named (c, "DeleteMarker"), prefix, fn, opaque);
  if (ret != 0)
    goto out;
  truncated = text_of (child (root, "IsTruncated"));
  if (truncated && strcmp (truncated, "true") == 0) {
    char *k = text_of (child (root, "NextKeyMarker"));
    char *v = text_of (child (root, "NextVersionIdMarker"));
    if (!k || !*k) {
      set_error (EIO, "S3 version listing: truncated without a key marker");
      ret = -1;
    }
    else {
      *next_key = strdup (k);
      *next_version = strdup (v ? v : "");
    }
    xmlFree (k);
    xmlFree (v);
  }
out:
  xmlFree (truncated);
  if (doc)
    xmlFreeDoc (doc);
  return ret;
}

bool
s3_xml_lock_enabled (const char *body, size_t len)
{
  xmlDocPtr doc = parse (body, len);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  char *t = NULL;
  bool on = false;

  if (root && named (root, "ObjectLockConfiguration")) {
    t = text_of (child (root, "ObjectLockEnabled"));
    on = t && strcmp (t, "Enabled") == 0;
  }
  xmlFree (t);
  if (doc)
    xmlFreeDoc (doc);
  return on;
}
