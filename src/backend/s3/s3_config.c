/* s3://BUCKET/PREFIX, endpoint, region and credentials (see s3_config.h).
 * The credentials file is the AWS CLI's INI format: "[profile]" sections
 * of "key = value" lines; only the three keys we use are read. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "s3_config.h"

#define DEFAULT_TIMEOUT 30
#define DEFAULT_ATTEMPTS 8

bool
s3_url (const char *url)
{
  return strncmp (url, "s3://", 5) == 0;
}

/* S3's bucket naming rules (3-63 of [a-z0-9.-], starting and ending
 * with a letter or digit): anything else would end up in a URL. */
static bool
valid_bucket (const char *b)
{
  size_t n = strlen (b);

  if (n < 3 || n > 63 || !isalnum ((unsigned char) b[0])
      || !isalnum ((unsigned char) b[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(islower ((unsigned char) b[i]) || isdigit ((unsigned char) b[i])
          || b[i] == '-' || b[i] == '.'))
      return false;
  return true;
}

static bool
valid_prefix (const char *p)
{
  for (; *p; p++)
    if (!(isalnum ((unsigned char) *p) || strchr ("-_./", *p)))
      return false;
  return true;
}

static char *
trim (char *s)
{
  char *e;

  while (isspace ((unsigned char) *s))
    s++;
  e = s + strlen (s);
  while (e > s && isspace ((unsigned char) e[-1]))
    *--e = '\0';
  return s;
}

/* Credentials of one profile from the shared credentials file. */
static int
read_credentials_file (struct s3_config *cfg)
{
  const char *profile = getenv ("AWS_PROFILE");
  const char *file = getenv ("AWS_SHARED_CREDENTIALS_FILE");
  CLEANUP_FREE char *path = NULL, *line = NULL;
  size_t cap = 0;
  bool in_profile = false;
  FILE *f;

  if (!profile || !*profile)
    profile = "default";
  if (file)
    path = strdup (file);
  else if (getenv ("HOME")
           && asprintf (&path, "%s/.aws/credentials", getenv ("HOME")) == -1)
    path = NULL;
  if (!path)
    return 0;
  f = fopen (path, "re");
  if (!f)
    return 0;
  while (getline (&line, &cap, f) != -1) {
    char *l = trim (line), *eq, **field = NULL;
    if (*l == '[') {
      char *end = strchr (l, ']');
      if (end)
        *end = '\0';
      in_profile = strcmp (trim (l + 1), profile) == 0;
      continue;
    }
    if (!in_profile || *l == '#' || *l == ';' || !(eq = strchr (l, '=')))
      continue;
    *eq = '\0';
    l = trim (l);
    if (strcmp (l, "aws_access_key_id") == 0)
      field = &cfg->access_key;
    else if (strcmp (l, "aws_secret_access_key") == 0)
      field = &cfg->secret_key;
    else if (strcmp (l, "aws_session_token") == 0)
      field = &cfg->session_token;
    if (field && !*field)
      *field = strdup (trim (eq + 1));
  }
  fclose (f);
  return 0;
}

int
s3_env_int (const char *name, int def, int min, int max)
{
  const char *s = getenv (name);
  char *end;
  long v;

  if (!s || !*s)
    return def;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || *end || v < min || v > max) {
    set_error (0, "$%s: not a number from %d to %d: %s", name, min, max, s);
    return -1;
  }
  return v;
}

int
s3_config_load (struct s3_config *cfg, const char *url, const char *endpoint)
{
  const char *rest = url + 5, *slash, *env;

  memset (cfg, 0, sizeof *cfg);
  if (!s3_url (url)) {
    set_error (0, "%s: not an s3://BUCKET/PREFIX URL", url);
    return -1;
  }
  slash = strchr (rest, '/');
  cfg->bucket = slash ? strndup (rest, slash - rest) : strdup (rest);
  if (!cfg->bucket) {
    set_error (ENOMEM, "%s", url);
    goto fail;
  }
  if (!valid_bucket (cfg->bucket)) {
    set_error (0, "%s: bad bucket name '%s' (3-63 of a-z, 0-9, '.', '-')", url,
               cfg->bucket);
    goto fail;
  }
  rest = slash ? slash + 1 : "";
  while (*rest == '/')
    rest++;
  if (!valid_prefix (rest) || strstr (rest, "..") || strstr (rest, "//")) {
    set_error (0, "%s: the prefix may hold only A-Z a-z 0-9 - _ . /", url);
    goto fail;
  }
  if (*rest && rest[strlen (rest) - 1] != '/') {
    if (asprintf (&cfg->prefix, "%s/", rest) == -1)
      cfg->prefix = NULL;
  }
  else
    cfg->prefix = strdup (rest);

  if (!endpoint || !*endpoint)
    endpoint = getenv ("VMBACKUP_S3_ENDPOINT");
  if (endpoint && *endpoint) {
    size_t n = strlen (endpoint);
    while (n > 0 && endpoint[n - 1] == '/')
      n--;
    if (strncmp (endpoint, "http://", 7)
        && strncmp (endpoint, "https://", 8)) {
      set_error (0, "S3 endpoint %s: must start with http:// or https://",
                 endpoint);
      goto fail;
    }
    cfg->endpoint = strndup (endpoint, n);
    cfg->path_style = true;
  }
  env = getenv ("AWS_REGION");
  if (!env || !*env)
    env = getenv ("AWS_DEFAULT_REGION");
  cfg->region = strdup (env && *env ? env : "us-east-1");
  if (!cfg->endpoint) {
    if (asprintf (&cfg->endpoint, "https://s3.%s.amazonaws.com", cfg->region)
        == -1)
      cfg->endpoint = NULL;
    cfg->path_style = false;
  }
  env = getenv ("VMBACKUP_S3_ADDRESSING");
  if (env && *env) {
    if (strcmp (env, "path") && strcmp (env, "virtual")) {
      set_error (0, "$VMBACKUP_S3_ADDRESSING: 'path' or 'virtual', not %s",
                 env);
      goto fail;
    }
    cfg->path_style = strcmp (env, "path") == 0;
  }

  /* A private CA (a site's own Ceph): the AWS tools' variable.  Checked
   * here, so that a wrong path is named rather than every certificate
   * refused. */
  env = getenv ("AWS_CA_BUNDLE");
  if (env && *env) {
    if (access (env, R_OK) == -1) {
      set_error (errno, "$AWS_CA_BUNDLE %s", env);
      goto fail;
    }
    if (!(cfg->ca_bundle = strdup (env))) {
      set_error (ENOMEM, "%s", url);
      goto fail;
    }
  }

  env = getenv ("AWS_ACCESS_KEY_ID");
  if (env && *env && getenv ("AWS_SECRET_ACCESS_KEY")) {
    cfg->access_key = strdup (env);
    cfg->secret_key = strdup (getenv ("AWS_SECRET_ACCESS_KEY"));
    env = getenv ("AWS_SESSION_TOKEN");
    if (env && *env)
      cfg->session_token = strdup (env);
  }
  else
    read_credentials_file (cfg);
  if (!cfg->access_key || !cfg->secret_key || !*cfg->access_key) {
    set_error (0,
               "%s: no S3 credentials (set AWS_ACCESS_KEY_ID and "
               "AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials)",
               url);
    goto fail;
  }
  if ((cfg->timeout = s3_env_int ("VMBACKUP_S3_TIMEOUT", DEFAULT_TIMEOUT, 1,
                                  3600))
        == -1
      || (cfg->attempts = s3_env_int ("VMBACKUP_S3_ATTEMPTS", DEFAULT_ATTEMPTS,
                                      1, 100))
        == -1)
    goto fail;
  if (!cfg->prefix || !cfg->endpoint || !cfg->region) {
    set_error (ENOMEM, "%s", url);
    goto fail;
  }
  return 0;

fail:
  s3_config_release (cfg);
  return -1;
}

void
s3_config_release (struct s3_config *cfg)
{
  free (cfg->bucket);
  free (cfg->prefix);
  free (cfg->endpoint);
  free (cfg->region);
  free (cfg->access_key);
  if (cfg->secret_key)
    memset (cfg->secret_key, 0, strlen (cfg->secret_key));
  free (cfg->secret_key);
  free (cfg->session_token);
  free (cfg->ca_bundle);
  memset (cfg, 0, sizeof *cfg);
}
