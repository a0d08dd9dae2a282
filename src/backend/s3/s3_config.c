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

/* The values of keys (n of them) in section [section] of the AWS INI
 * file at path ("key = value" lines): each value not yet set is set
 * from the first line that has its key.  A key with no value opens
 * nested settings on the indented lines below it (the AWS CLI's
 * "s3 =", "dynamodb ="): those belong to that service, and are
 * skipped.  A missing file has nothing. */
static void
read_ini_section (const char *path, const char *section,
                  const char *const *keys, char **values, size_t n)
{
  CLEANUP_FREE char *line = NULL;
  size_t cap = 0;
  bool in_section = false, nested = false;
  FILE *f = fopen (path, "re");

  if (!f)
    return;
  while (getline (&line, &cap, f) != -1) {
    bool indented = line[0] == ' ' || line[0] == '\t';
    char *l = trim (line), *eq;
    if (!*l || *l == '#' || *l == ';' || (nested && indented))
      continue;
    nested = false;
    if (*l == '[') {
      char *end = strchr (l, ']');
      if (end)
        *end = '\0';
      in_section = strcmp (trim (l + 1), section) == 0;
      continue;
    }
    if (!(eq = strchr (l, '=')))
      continue;
    *eq = '\0';
    l = trim (l);
    if (!*trim (eq + 1)) {
      nested = true;
      continue;
    }
    for (size_t i = 0; in_section && i < n; i++)
      if (!values[i] && strcmp (l, keys[i]) == 0)
        values[i] = strdup (trim (eq + 1));
  }
  fclose (f);
}

/* An AWS file's path: $env_name, else ~/.aws/name.  NULL when neither
 * can be known. */
static char *
aws_file (const char *env_name, const char *name)
{
  const char *file = getenv (env_name);
  char *path = NULL;

  if (file && *file)
    return strdup (file);
  if (getenv ("HOME")
      && asprintf (&path, "%s/.aws/%s", getenv ("HOME"), name) == -1)
    return NULL;
  return path;
}

static const char *
aws_profile (void)
{
  const char *profile = getenv ("AWS_PROFILE");

  return profile && *profile ? profile : "default";
}

/* Credentials of the profile from the shared credentials file. */
static void
read_credentials_file (struct s3_config *cfg)
{
  static const char *const keys[] = { "aws_access_key_id",
                                      "aws_secret_access_key",
                                      "aws_session_token" };
  char *values[3] = { NULL, NULL, NULL };
  CLEANUP_FREE char *path = aws_file ("AWS_SHARED_CREDENTIALS_FILE",
                                      "credentials");

  if (!path)
    return;
  read_ini_section (path, aws_profile (), keys, values, 3);
  cfg->access_key = values[0];
  cfg->secret_key = values[1];
  cfg->session_token = values[2];
}

/* What the AWS CLI's config file says of the profile ([default], or
 * [profile NAME]): region, endpoint_url, ca_bundle, in that order. */
enum { CONF_REGION, CONF_ENDPOINT, CONF_CA_BUNDLE, CONF_KEYS };

static void
read_config_file (char *values[CONF_KEYS])
{
  static const char *const keys[CONF_KEYS] = { "region", "endpoint_url",
                                               "ca_bundle" };
  CLEANUP_FREE char *path = aws_file ("AWS_CONFIG_FILE", "config");
  CLEANUP_FREE char *section = NULL;
  const char *profile = aws_profile ();

  if (!path)
    return;
  if (strcmp (profile, "default") == 0)
    section = strdup (profile);
  else if (asprintf (&section, "profile %s", profile) == -1)
    section = NULL;
  if (section)
    read_ini_section (path, section, keys, values, CONF_KEYS);
}

/* The first of the environment variables names that is set and not
 * empty, else fallback. */
static const char *
first_set (const char *const *names, size_t n, const char *fallback)
{
  for (size_t i = 0; i < n; i++) {
    const char *v = getenv (names[i]);
    if (v && *v)
      return v;
  }
  return fallback;
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
  char *conf[CONF_KEYS] = { NULL, NULL, NULL };
  int r = -1;

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

  read_config_file (conf);
  if (!endpoint || !*endpoint) {
    static const char *const names[] = { "VMBACKUP_S3_ENDPOINT",
                                         "AWS_ENDPOINT_URL_S3",
                                         "AWS_ENDPOINT_URL" };
    endpoint = first_set (names, 3, conf[CONF_ENDPOINT]);
  }
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
  {
    static const char *const names[] = { "AWS_REGION", "AWS_DEFAULT_REGION" };
    env = first_set (names, 2, conf[CONF_REGION]);
  }
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

  /* A private CA (a site's own Ceph), as the AWS tools find it.  Checked
   * here, so that a wrong path is named rather than every certificate
   * refused; only for https, so that a stale one does not stop an http
   * endpoint. */
  env = getenv ("AWS_CA_BUNDLE");
  if (!env || !*env)
    env = conf[CONF_CA_BUNDLE];
  if (env && *env && cfg->endpoint
      && strncmp (cfg->endpoint, "https://", 8) == 0) {
    if (access (env, R_OK) == -1) {
      set_error (errno, "%s %s",
                 env == conf[CONF_CA_BUNDLE] ? "ca_bundle of the AWS config"
                                             : "$AWS_CA_BUNDLE",
                 env);
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
  r = 0;

fail:
  if (r == -1)
    s3_config_release (cfg);
  for (size_t i = 0; i < CONF_KEYS; i++)
    free (conf[i]);
  return r;
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
