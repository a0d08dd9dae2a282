/* Where an S3 repository is and who we are there: the bucket and prefix
 * of an s3://BUCKET/PREFIX URL, the endpoint, region and addressing
 * style, and credentials found the way AWS tools find them. */
#ifndef VMB_S3_CONFIG_H
#define VMB_S3_CONFIG_H

#include <stdbool.h>

struct s3_config {
  char *bucket;
  char *prefix;   /* "" or "dir/sub/" (always ends in '/') */
  char *endpoint; /* "https://host[:port]", no trailing '/' */
  char *region;
  bool path_style; /* endpoint/bucket/key, not bucket.endpoint/key */
  char *access_key;
  char *secret_key;
  char *session_token; /* NULL unless temporary credentials */
  char *ca_bundle;     /* CA certificates (PEM) for https, NULL: the
                        * system's */
  int timeout;         /* seconds without progress: an error */
  int attempts;        /* tries of a request that may succeed later */
};

/* Fill cfg from url ("s3://BUCKET[/PREFIX]") and, as the AWS tools
 * find them, first set wins:
 * - the endpoint: endpoint (--s3-endpoint, may be NULL),
 *   $VMBACKUP_S3_ENDPOINT, $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, the
 *   profile's endpoint_url in the config file; else Amazon S3;
 * - the region: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region;
 *   else us-east-1;
 * - $VMBACKUP_S3_ADDRESSING=path|virtual (default path for an endpoint
 *   given, virtual for AWS);
 * - credentials: $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY/
 *   $AWS_SESSION_TOKEN, else the profile's section of
 *   $AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials);
 * - the CA certificates that https trusts: $AWS_CA_BUNDLE, the
 *   profile's ca_bundle; else the system's.
 * The profile is $AWS_PROFILE or default; the config file is
 * $AWS_CONFIG_FILE (default ~/.aws/config), with sections [default]
 * and [profile NAME].  -1 with a one-line error naming what is missing
 * or malformed. */
int s3_config_load (struct s3_config *cfg, const char *url,
                    const char *endpoint);
void s3_config_release (struct s3_config *cfg);

/* The number in environment variable name, def when unset or empty, or
 * -1 (error set) when it is not a whole number from min to max. */
int s3_env_int (const char *name, int def, int min, int max);

/* Is this an s3:// URL? */
bool s3_url (const char *url);

#endif
