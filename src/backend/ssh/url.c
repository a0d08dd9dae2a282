/* Parsing "ssh://[USER@]HOST[:PORT]/PATH" (see client.h).  The parts end
 * up on ssh's command line, so anything that could pass for an option
 * or carry shell syntax is refused. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "ssh.h"

#define SCHEME "ssh://"

bool
remote_is_url (const char *repo)
{
  return strncmp (repo, SCHEME, strlen (SCHEME)) == 0;
}

static bool
plain_word (const char *s, const char *extra)
{
  if (s[0] == '\0' || s[0] == '-')
    return false;
  for (; *s; s++)
    if (!isalnum ((unsigned char) *s) && !strchr (extra, *s))
      return false;
  return true;
}

void
remote_url_free (struct remote_url *u)
{
  free (u->user);
  free (u->host);
  free (u->port);
  free (u->path);
  memset (u, 0, sizeof *u);
}

int
remote_url_parse (const char *url, struct remote_url *u)
{
  const char *p = url + strlen (SCHEME), *slash, *at, *colon, *end;

  memset (u, 0, sizeof *u);
  if (!remote_is_url (url))
    goto bad;
  slash = strchr (p, '/');
  if (slash == NULL || slash[1] == '\0')
    goto bad;
  at = memchr (p, '@', slash - p);
  if (at) {
    u->user = strndup (p, at - p);
    p = at + 1;
  }
  end = slash;
  if (*p == '[') { /* [IPv6]:port */
    const char *close = memchr (p, ']', slash - p);
    if (close == NULL)
      goto bad;
    u->host = strndup (p + 1, close - p - 1);
    colon = close + 1 < slash && close[1] == ':' ? close + 1 : NULL;
    if (close + 1 != slash && colon == NULL)
      goto bad;
  }
  else {
    colon = memchr (p, ':', slash - p);
    u->host = strndup (p, (colon ? colon : end) - p);
  }
  if (colon)
    u->port = strndup (colon + 1, end - colon - 1);
  u->path = strdup (slash);
  if ((at && u->user == NULL) || u->host == NULL || u->path == NULL
      || (colon && u->port == NULL)) {
    remote_url_free (u);
    set_error (ENOMEM, "parse %s", url);
    return -1;
  }
  if ((u->user && !plain_word (u->user, "._-"))
      || !plain_word (u->host, ".-_:")
      || (u->port
          && (!plain_word (u->port, "")
              || strspn (u->port, "0123456789") != strlen (u->port)
              || atoi (u->port) < 1 || atoi (u->port) > 65535)))
    goto bad;
  return 0;

bad:
  remote_url_free (u);
  set_error (0, "%s: not a repository URL (ssh://[USER@]HOST[:PORT]/PATH)",
             url);
  return -1;
}
