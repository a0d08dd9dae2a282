/* Persistent bitmap state of a qcow2 image (see image_bitmap.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "image_bitmap.h"

/* qemu-img info's JSON for a few bitmaps is a few KiB; an image with
 * internal snapshots lists them too, so allow generously but bounded. */
#define INFO_MAX (4 << 20)

static int
qemu_img_info (const char *image, struct strbuf *out)
{
  int fds[2], status;
  pid_t pid;
  char buf[8192];
  ssize_t n;

  if (pipe2 (fds, O_CLOEXEC) == -1)
    return set_error (errno, "pipe"), -1;
  pid = fork ();
  if (pid == -1) {
    close (fds[0]);
    close (fds[1]);
    return set_error (errno, "fork"), -1;
  }
  if (pid == 0) {
    int null = open ("/dev/null", O_RDWR);
    dup2 (null, 0);
    dup2 (fds[1], 1);
    dup2 (null, 2);
    execlp ("qemu-img", "qemu-img", "info", "--force-share", "--output=json",
            "-f", "qcow2", "--", image, (char *) NULL);
    _exit (127);
  }
  close (fds[1]);
  while ((n = read (fds[0], buf, sizeof buf)) > 0)
    if (out->len + n <= INFO_MAX)
      strbuf_add (out, buf, n);
  close (fds[0]);
  if (waitpid (pid, &status, 0) == -1 || !WIFEXITED (status)
      || WEXITSTATUS (status) != 0) {
    set_error (0, "qemu-img info %s failed", image);
    return -1;
  }
  return 0;
}

int
image_bitmap_state (const char *image, const char *bitmap,
                    enum bitmap_state *state)
{
  struct strbuf sb = STRBUF_INIT;
  json_object *root, *fs, *data, *bitmaps;
  int r = -1;

  if (qemu_img_info (image, &sb) == -1) {
    strbuf_release (&sb);
    return -1;
  }
  root = json_tokener_parse (sb.buf ? sb.buf : "");
  strbuf_release (&sb);
  if (root == NULL) {
    set_error (0, "qemu-img info %s: unreadable output", image);
    return -1;
  }
  *state = BITMAP_MISSING;
  r = 0;
  if (json_object_object_get_ex (root, "format-specific", &fs)
      && json_object_object_get_ex (fs, "data", &data)
      && json_object_object_get_ex (data, "bitmaps", &bitmaps)
      && json_object_is_type (bitmaps, json_type_array)) {
    for (size_t i = 0; i < json_object_array_length (bitmaps); i++) {
      json_object *b = json_object_array_get_idx (bitmaps, i), *name, *flags;
      if (!json_object_object_get_ex (b, "name", &name)
          || strcmp (json_object_get_string (name), bitmap) != 0)
        continue;
      *state = BITMAP_OK;
      if (json_object_object_get_ex (b, "flags", &flags)
          && json_object_is_type (flags, json_type_array))
        for (size_t k = 0; k < json_object_array_length (flags); k++)
          if (strcmp (json_object_get_string (
                        json_object_array_get_idx (flags, k)),
                      "in-use")
              == 0)
            *state = BITMAP_INCONSISTENT;
    }
  }
  json_object_put (root);
  return r;
}
