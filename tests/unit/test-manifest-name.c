/* Backup names become directory names: only safe ones are accepted; a
 * VM name that is not one is encoded into one (backup_name_of). */
#include <string.h>

#include "repo/manifest.h"
#include "test.h"

int
main (void)
{
  static const char *good[] = {
    "a", "web-01", "db.prod", "A_b-C.d", "0", "x.", "-rf",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._",
  };
  static const char *bad[] = {
    "", ".", "..", ".hidden", "a/b", "/", "../x", "a b", " a", "a\n",
    "a%b", "a=b", "a:b", "a\\b", "caf\xc3\xa9", "a*",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
  };

  CHECK (strlen (good[7]) == NAME_MAX_LEN, "test name is %zu long",
         strlen (good[7]));
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    CHECK (name_is_valid (good[i]), "\"%s\" refused", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK (!name_is_valid (bad[i]), "\"%s\" accepted", bad[i]);

  static const char *encode[][2] = {
    { "web-01", "web-01" },                     /* valid: itself */
    { "A_b-C.d", "A_b-C.d" },
    { "web server", "web_20server" },
    { "caf\xc3\xa9 1", "caf_c3_a9_201" },
    { ".hidden", "_2ehidden" },
    { "a_b c", "a_5fb_20c" },                   /* '_' escaped too */
    { "a:b/c", "a_3ab_2fc" },
  };
  for (size_t i = 0; i < sizeof encode / sizeof encode[0]; i++) {
    char out[NAME_MAX_LEN + 1];
    CHECK (backup_name_of (encode[i][0], out) == 0, "\"%s\" not encoded",
           encode[i][0]);
    CHECK (strcmp (out, encode[i][1]) == 0, "\"%s\" encoded as \"%s\", "
           "not \"%s\"", encode[i][0], out, encode[i][1]);
  }
  /* Too long once encoded (22 spaces: 66 bytes), and empty. */
  {
    char out[NAME_MAX_LEN + 1];
    CHECK (backup_name_of ("                      ", out) == -1,
           "an over-long encoding accepted");
    CHECK (backup_name_of ("", out) == -1, "an empty name accepted");
    /* 21 spaces: 63 bytes, the longest that fits with one more letter. */
    CHECK (backup_name_of ("                     x", out) == 0
           && strlen (out) == 64, "a 64-byte encoding refused");
  }
  return 0;
}
