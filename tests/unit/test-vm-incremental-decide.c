/* Changed-block tracking's decisions (vm/incr_decide.h): for each
 * reason a disk is read whole, the event ID the user sees and the cause
 * its text names; and that nothing is said when a disk may be read
 * incrementally. */
#include "common/events.h"
#include "vm/incr_decide.h"
#include "test.h"

#define EXPECT(ok, v, id, text)                                          \
  do {                                                                  \
    CHECK (!(ok), "expected a full read (%s)", text);                   \
    CHECK ((v).event == (id), "event %d, expected %d: %s", (v).event,   \
           (id), (v).msg);                                              \
    CHECK (strstr ((v).msg, text) != NULL, "'%s' lacks '%s'", (v).msg,  \
           text);                                                       \
  } while (0)

static struct manifest_disk vda_then = { .name = "vda", .format = "qcow2",
                                         .image = "fd00:1234" };
static struct manifest base = {
  .id = "web1-20261204T100000Z", .name = "web1", .kind = "vm",
  .checkpoint = "vmbackup.R1.20261204T100000Z", .run = "pid-100",
  .disks = { .ptr = &vda_then, .len = 1, .cap = 1 },
};

static struct incr_base_facts
good_base (void)
{
  struct incr_base_facts f = {
    .base = &base, .repo_id = "R1", .run = "pid-100", .found = 1,
    .cp_name = "vmbackup.R1.20261204T100000Z", .cp_repository = "R1",
  };
  return f;
}

static void
test_base (void)
{
  struct incr_base_facts f;
  struct incr_verdict v;
  struct manifest no_cp = base;

  f = good_base ();
  CHECK (incr_decide_base (&f, &v), "usable base refused: %s", v.msg);
  CHECK (v.event == 0, "event %d for a usable base", v.event);

  /* A shut-off VM (no qemu process now) may build on a running one. */
  f.run = NULL;
  CHECK (incr_decide_base (&f, &v), "shut off now: %s", v.msg);

  f = good_base ();
  f.base = NULL;
  EXPECT (incr_decide_base (&f, &v), v, EV_FULL_READ,
          "first backup of this VM in this repository");

  f = good_base ();
  no_cp.checkpoint = NULL;
  f.base = &no_cp;
  EXPECT (incr_decide_base (&f, &v), v, EV_FULL_READ,
          "has no checkpoint (the VM was shut off then");

  f = good_base ();
  f.found = 0;
  EXPECT (incr_decide_base (&f, &v), v, EV_CHECKPOINT_GONE,
          "checkpoint vmbackup.R1.20261204T100000Z of backup "
          "web1-20261204T100000Z is gone");

  f = good_base ();
  f.found = -1;
  f.error = "libvirt: connection reset";
  EXPECT (incr_decide_base (&f, &v), v, EV_CHECKPOINT_GONE,
          "libvirt: connection reset: full read");

  /* The backup the last checkpoint was made for was pruned. */
  f = good_base ();
  f.found = 0;
  f.lost_backup = "web1-20261204T110000Z";
  f.lost_checkpoint = "vmbackup.R1.20261204T110000Z";
  EXPECT (incr_decide_base (&f, &v), v, EV_PREVIOUS_UNUSABLE,
          "backup web1-20261204T110000Z, made at checkpoint "
          "vmbackup.R1.20261204T110000Z, is no longer in the repository");
  CHECK (strstr (v.msg, "the newest backup left, web1-20261204T100000Z"),
         "%s", v.msg);
  f.base = NULL;
  EXPECT (incr_decide_base (&f, &v), v, EV_PREVIOUS_UNUSABLE,
          "(pruned or deleted): full read");

  f = good_base ();
  f.cp_repository = "R2";
  EXPECT (incr_decide_base (&f, &v), v, EV_OTHER_REPOSITORY,
          "was made for repository R2, not this one (R1)");
  f.cp_repository = NULL;
  EXPECT (incr_decide_base (&f, &v), v, EV_OTHER_REPOSITORY,
          "repository (unknown)");

  f = good_base ();
  f.run = "pid-200";
  EXPECT (incr_decide_base (&f, &v), v, EV_VM_RESTARTED,
          "(qemu process pid-100, now pid-200)");
}

static struct incr_disk_facts
good_disk (void)
{
  struct incr_disk_facts f = {
    .target = "vda", .format = "qcow2", .then = &vda_then,
    .base_id = base.id, .image = "fd00:1234", .in_checkpoint = true,
  };
  return f;
}

static void
test_disk (void)
{
  const char *since = "vmbackup.R1.20261204T100000Z";
  struct incr_disk_facts f;
  struct incr_verdict v;
  struct manifest_disk no_image = vda_then;

  f = good_disk ();
  CHECK (incr_decide_disk (&f, since, &v), "usable disk refused: %s", v.msg);

  f.format = "";
  EXPECT (incr_decide_disk (&f, since, &v), v, EV_FULL_READ,
          "disk vda is raw, which keeps no dirty bitmap");
  /* The format is said even when no checkpoint is usable. */
  EXPECT (incr_decide_disk (&f, NULL, &v), v, EV_FULL_READ, "is raw");

  /* No checkpoint: incr_decide_base said why, once for every disk. */
  f = good_disk ();
  CHECK (!incr_decide_disk (&f, NULL, &v) && v.event == 0,
         "no checkpoint: event %d", v.event);

  f = good_disk ();
  f.then = NULL;
  EXPECT (incr_decide_disk (&f, since, &v), v, EV_DISK_CHANGED,
          "disk vda was added since backup web1-20261204T100000Z");

  f = good_disk ();
  f.in_checkpoint = false;
  EXPECT (incr_decide_disk (&f, since, &v), v, EV_DISK_CHANGED,
          "has no bitmap in checkpoint " "vmbackup.R1.20261204T100000Z");

  /* Replaced: another file (restored, copied in) at the same path. */
  f = good_disk ();
  f.image = "fd00:9999";
  EXPECT (incr_decide_disk (&f, since, &v), v, EV_DISK_CHANGED,
          "is not the image file it was at backup web1-20261204T100000Z "
          "(fd00:9999, then fd00:1234)");
  f.image = NULL;
  EXPECT (incr_decide_disk (&f, since, &v), v, EV_DISK_CHANGED,
          "(unknown, then fd00:1234)");
  f = good_disk ();
  f.then = &no_image;
  no_image.image = NULL;
  EXPECT (incr_decide_disk (&f, since, &v), v, EV_DISK_CHANGED,
          "then unknown");
}

static void
test_bitmap (void)
{
  const char *since = "cp1";
  struct incr_verdict v;
  bool broken = false;

  CHECK (incr_decide_bitmap ("vda", since, BITMAP_OK, NULL, true, &broken,
                             &v) && !broken, "clean bitmap refused");
  EXPECT (incr_decide_bitmap ("vda", since, -1, "qemu-img: cannot open",
                              false, &broken, &v), v, EV_BITMAP_BROKEN,
          "disk vda: qemu-img: cannot open: read whole");
  /* Killed while running: qemu never wrote the bitmap. */
  EXPECT (incr_decide_bitmap ("vda", since, BITMAP_MISSING, NULL, true,
                              &broken, &v), v, EV_BITMAP_BROKEN,
          "bitmap cp1 was never saved in the image");
  CHECK (broken, "a missing bitmap's checkpoint is kept");
  broken = false;
  EXPECT (incr_decide_bitmap ("vda", since, BITMAP_MISSING, NULL, false,
                              &broken, &v), v, EV_CHECKPOINT_GONE,
          "the image has no bitmap cp1 any more");
  broken = false;
  EXPECT (incr_decide_bitmap ("vda", since, BITMAP_INCONSISTENT, NULL, false,
                              &broken, &v), v, EV_BITMAP_BROKEN,
          "bitmap cp1 was not saved (the VM crashed or was killed)");
  CHECK (broken, "an inconsistent bitmap's checkpoint is kept");
}

int
main (void)
{
  test_base ();
  test_disk ();
  test_bitmap ();
  return 0;
}
