/* The test hooks (see test_hooks.h). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_hooks.h"

static unsigned long
number (const char *name)
{
  const char *s = getenv (name);

  return s ? strtoul (s, NULL, 10) : 0;
}

void
test_hook_serve_chunk (void)
{
  static unsigned long chunks;
  unsigned long kill_after = number ("VMBACKUP_TEST_SERVE_KILL_AFTER");
  unsigned long pause_after = number ("VMBACKUP_TEST_SERVE_PAUSE_AFTER");
  const char *pause_file = getenv ("VMBACKUP_TEST_SERVE_PAUSE_FILE");
  FILE *f;

  chunks++;
  if (kill_after && kill_after == chunks)
    raise (SIGKILL);
  if (pause_after && pause_file && pause_after == chunks
      && (f = fopen (pause_file, "w")) != NULL) {
    /* may print: the test reads our pid from its own file */
    fprintf (f, "%d\n", (int) getpid ());
    fclose (f);
    for (int i = 0; i < 1200 && access (pause_file, F_OK) == 0; i++)
      usleep (50000);
  }
}

void
test_hook_file_read (const char *path)
{
  const char *grow = getenv ("VMBACKUP_TEST_GROW_WHILE_READ");
  int fd;

  if (grow == NULL || strcmp (grow, path) != 0)
    return;
  fd = open (path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd >= 0) {
    /* A failed write only makes the test that asked for it fail. */
    ssize_t n = write (fd, "+", 1);
    (void) n;
    close (fd);
  }
}

unsigned
test_hook_hold_frozen (void)
{
  unsigned long s = number ("VMBACKUP_TEST_HOLD_FROZEN");

  return s > 3600 ? 3600 : s;
}
