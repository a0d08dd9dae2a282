/* Backup IDs: NAME/STAMP, where STAMP is made from the backup's time
 * ("YYYYMMDDTHHMMSSZ", years 1970 to 9999) with an optional ".N" (2 to
 * 999) for backups in the same second.  Anything else a backend lists
 * is not a backup (manifest_id_is_ours), and a manifest whose ID is not
 * made from its time is refused (manifest_id_matches): a forged time
 * cannot hide behind a plausible ID. */
#include <string.h>

#include "repo/manifest.h"
#include "test.h"

int
main (void)
{
  static const char *ours[] = {
    "web/20261204T181750Z",     "web/20261204T181750Z.2",
    "web/20261204T181750Z.999", "a.b-c_d/19700101T000000Z",
    "x/99991231T235959Z",
  };
  static const char *not_ours[] = {
    "web/109626219-163701969600T074504Z",
    "web/20261204T181750",
    "web/20261204T181750Z.1",
    "web/20261204T181750Z.01",
    "web/20261204T181750Z.1000",
    "web/20261204T181750Z.",
    "web/20261204T181750Z.2x",
    "web/2026120AT181750Z",
    "web/20261204t181750Z",
    "web/20261204T181750Z/x",
    ".web/20261204T181750Z",
    "web20261204T181750Z",
    "/20261204T181750Z",
  };

  for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
    CHECK (manifest_id_is_ours (ours[i]), "\"%s\" refused", ours[i]);
  for (size_t i = 0; i < sizeof not_ours / sizeof not_ours[0]; i++)
    CHECK (!manifest_id_is_ours (not_ours[i]), "\"%s\" accepted",
           not_ours[i]);

  CHECK (manifest_id_matches ("web/20261204T181750Z", 1796408270),
         "a backup's own ID refused");
  CHECK (manifest_id_matches ("web/20261204T181750Z.7", 1796408270),
         "a suffixed ID refused");
  CHECK (manifest_id_matches ("web/19700101T000000Z", 0), "1970 refused");
  CHECK (manifest_id_matches ("web/99991231T235959Z", MANIFEST_TIME_MAX),
         "the last second of 9999 refused");
  CHECK (!manifest_id_matches ("web/20261204T181750Z", 1796408271),
         "an ID one second off accepted");
  CHECK (!manifest_id_matches ("web/21000101T000000Z", 1796408270),
         "an ID of 2100 accepted for a time of 2026");
  CHECK (!manifest_id_matches ("web/20261204T181750Z", 4102444800 * 1000),
         "a time past 9999 accepted");
  CHECK (!manifest_id_matches ("web/20261204T181750Z", -1),
         "a negative time accepted");
  return 0;
}
