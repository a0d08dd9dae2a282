/* s3check: drive the S3 client (src/backend/s3/) from shell tests, one
 * operation per run:
 *   s3check URL mkbucket [lock]
 *   s3check URL put KEY FILE [if-absent] [lock-days N]
 *   s3check URL get KEY          (the object on stdout)
 *   s3check URL head KEY         ("SIZE", or "missing" with exit 3)
 *   s3check URL delete KEY
 *   s3check URL list [PREFIX]    ("KEY SIZE" lines)
 *   s3check URL fill PREFIX N    (N small objects PREFIX0..PREFIX<N-1>)
 * The endpoint and credentials come from the environment as for
 * vmbackup.  Errors: "s3check: MESSAGE (errno name)", exit 1. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/s3/s3_client.h"
#include "common/error.h"
#include "common/fsutil.h"

static int
die (void)
{
  fprintf (stderr, "s3check: %s (%s)\n", get_error (),
           strerrorname_np (get_errno ()) ? strerrorname_np (get_errno ())
           : "0");
  return 1;
}

static int
print_key (void *opaque, const char *key, uint64_t size, time_t mtime)
{
  printf ("%s %" PRIu64 "\n", key, size);
  return 0;
}

int
main (int argc, char **argv)
{
  struct s3_config cfg;
  struct s3_client *c;
  const char *op;
  int rc = 0;

  if (argc < 3) {
    fprintf (stderr, "usage: s3check URL OP [ARGS]\n");
    return 2;
  }
  if (s3_config_load (&cfg, argv[1], NULL) == -1 || !(c = s3_client_new (&cfg)))
    return die ();
  op = argv[2];
  if (strcmp (op, "mkbucket") == 0)
    rc = s3_bucket_create (c, argc > 3 && strcmp (argv[3], "lock") == 0);
  else if (strcmp (op, "put") == 0 && argc >= 5) {
    struct s3_put_opts o = { 0 };
    char *data = NULL;
    size_t len = 0;
    for (int i = 5; i < argc; i++) {
      if (strcmp (argv[i], "if-absent") == 0)
        o.if_absent = true;
      else if (strcmp (argv[i], "lock-days") == 0 && i + 1 < argc)
        o.retain_until = time (NULL) + 86400L * atoi (argv[++i]);
    }
    if (read_file (argv[4], 1 << 30, &data, &len) == -1)
      return die ();
    rc = s3_put (c, argv[3], data, len, &o);
    free (data);
  }
  else if (strcmp (op, "get") == 0 && argc == 4) {
    struct strbuf sb = STRBUF_INIT;
    rc = s3_get (c, argv[3], &sb, 1 << 30);
    if (rc == 0)
      fwrite (sb.buf, 1, sb.len, stdout);
    strbuf_release (&sb);
  }
  else if (strcmp (op, "head") == 0 && argc == 4) {
    uint64_t size;
    rc = s3_head (c, argv[3], &size);
    if (rc == 1)
      printf ("%" PRIu64 "\n", size);
    else if (rc == 0) {
      printf ("missing\n");
      s3_client_close (c);
      return 3;
    }
    rc = rc == 1 ? 0 : -1;
  }
  else if (strcmp (op, "delete") == 0 && argc == 4)
    rc = s3_delete (c, argv[3]);
  else if (strcmp (op, "list") == 0)
    rc = s3_list (c, argc > 3 ? argv[3] : "", print_key, NULL);
  else if (strcmp (op, "fill") == 0 && argc == 5) {
    for (int i = 0; i < atoi (argv[4]) && rc == 0; i++) {
      char key[512], val[32];
      snprintf (key, sizeof key, "%s%05d", argv[3], i);
      snprintf (val, sizeof val, "%d", i);
      rc = s3_put (c, key, val, strlen (val), NULL);
    }
  }
  else {
    fprintf (stderr, "s3check: bad operation %s\n", op);
    rc = 2;
  }
  if (rc == -1) {
    rc = die ();
  }
  s3_client_close (c);
  return rc;
}
