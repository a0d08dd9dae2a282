/* The state of a persistent dirty bitmap inside a qcow2 image that no
 * process has open (a shut-off VM's disk), from qemu-img info.  A bitmap
 * qemu could not save when it stopped (killed, crashed) stays flagged
 * "in-use" and must not be trusted. */
#ifndef VMB_IMAGE_BITMAP_H
#define VMB_IMAGE_BITMAP_H

enum bitmap_state {
  BITMAP_OK,           /* there and consistent */
  BITMAP_MISSING,      /* no bitmap of that name */
  BITMAP_INCONSISTENT, /* flagged in-use: not saved cleanly */
};

/* -1 with the error set when the image cannot be inspected. */
int image_bitmap_state (const char *image, const char *bitmap,
                        enum bitmap_state *state);

#endif
