/* Backup names become directory names: only safe ones are accepted. */
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
  return 0;
}
