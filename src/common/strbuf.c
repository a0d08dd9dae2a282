/* strbuf implementation (see strbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

char strbuf_slopbuf[1];

static void
strbuf_grow (struct strbuf *sb, size_t extra)
{
  size_t need;
  char *p;

  if (__builtin_add_overflow (sb->len, extra + 1, &need))
    abort ();
  if (need <= sb->alloc)
    return;
  if (need < sb->alloc * 2)
    need = sb->alloc * 2;
  p = realloc (sb->alloc ? sb->buf : NULL, need);
  if (p == NULL)
    abort ();
  if (sb->alloc == 0)
    p[0] = '\0';
  sb->buf = p;
  sb->alloc = need;
}

void
strbuf_release (struct strbuf *sb)
{
  if (sb->alloc)
    free (sb->buf);
  sb->buf = strbuf_slopbuf;
  sb->len = sb->alloc = 0;
}

void
strbuf_add (struct strbuf *sb, const void *data, size_t len)
{
  strbuf_grow (sb, len);
  memcpy (sb->buf + sb->len, data, len);
  sb->len += len;
  sb->buf[sb->len] = '\0';
}

void
strbuf_addstr (struct strbuf *sb, const char *s)
{
  strbuf_add (sb, s, strlen (s));
}

void
strbuf_addf (struct strbuf *sb, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  if (n < 0)
    abort ();
  strbuf_grow (sb, n);
  va_start (ap, fmt);
  vsnprintf (sb->buf + sb->len, n + 1, fmt, ap);
  va_end (ap);
  sb->len += n;
}

void
strbuf_add_json_string (struct strbuf *sb, const char *s)
{
  strbuf_addstr (sb, "\"");
  for (; *s; s++) {
    unsigned char c = *s;
    if (c == '"' || c == '\\')
      strbuf_addf (sb, "\\%c", c);
    else if (c < 0x20)
      strbuf_addf (sb, "\\u%04x", c);
    else
      strbuf_add (sb, &c, 1);
  }
  strbuf_addstr (sb, "\"");
}

char *
strbuf_detach (struct strbuf *sb)
{
  char *r;

  if (sb->alloc == 0)
    return strdup ("");
  r = sb->buf;
  sb->buf = strbuf_slopbuf;
  sb->len = sb->alloc = 0;
  return r;
}
