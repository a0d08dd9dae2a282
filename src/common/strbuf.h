/* Growable string whose buf is never NULL (git's strbuf.h idiom). */
#ifndef VMB_STRBUF_H
#define VMB_STRBUF_H

#include <stddef.h>

struct strbuf {
  char *buf;
  size_t len;
  size_t alloc;
};

extern char strbuf_slopbuf[];
#define STRBUF_INIT                             \
  {                                             \
    .buf = strbuf_slopbuf, .len = 0, .alloc = 0 \
  }

void strbuf_release (struct strbuf *sb);
/* These abort only on out-of-memory; a string builder that can fail on
 * every append makes every caller unreadable for no real gain. */
void strbuf_add (struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr (struct strbuf *sb, const char *s);
void strbuf_addf (struct strbuf *sb, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
/* Append s as a JSON string literal, quotes included. */
void strbuf_add_json_string (struct strbuf *sb, const char *s);
char *strbuf_detach (struct strbuf *sb);

#endif
